#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FilterKit

/// `stdio-filter convert`: copy a volume, optionally changing its storage type.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy an MRC volume, optionally changing its mode (storage type).",
        discussion: """
            Streams section by section with bounded memory. A file output is written under a
            temporary name and renamed when complete, with exact DMIN/DMAX/DMEAN/RMS; on a pipe the
            header carries MRC2014's 'undetermined' statistics. Voxel size, origin, labels and the
            extended header are kept; a label naming the conversion is added.

            Converting to an integer mode rounds to nearest and clamps to the type's range (a
            warning says how many voxels were clamped). Without --mode the stored type is kept,
            except that unsigned bytes become mode 6 (uint16) and 4-bit data mode 0 (int8), which
            every MRC reader understands.

            Examples:
              stdio-filter convert in.mrc out.mrc --mode 2
              stdio-filter convert --mode 12 < in.mrc > half.mrc
              cat tomo.mrc | stdio-filter convert - - | stdio-filter info
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var io: IOOptions

    @Argument(help: ArgumentHelp("Input MRC file, or '-' for stdin.", valueName: "input"))
    var input: String = "-"

    @Argument(help: ArgumentHelp("Output MRC file, or '-' for stdout.", valueName: "output"))
    var output: String = "-"

    @Option(help: ArgumentHelp("Output MRC mode: 0 int8, 1 int16, 2 float32, 6 uint16, 12 float16.", valueName: "mode"))
    var mode: Int?

    @Option(help: ArgumentHelp("Output type by name: int8, int16, uint16, float16, float32.", valueName: "type"))
    var type: ElementType?

    func validate() throws {
        if mode != nil && type != nil { throw ValidationError("give --mode or --type, not both") }
        if let mode, MRCMode.outputType(forMode: mode) == nil {
            throw ValidationError("--mode must be \(MRCMode.outputList) (got \(mode))")
        }
        if type == .uint4 { throw ValidationError("--type uint4 (mode 101) cannot be written") }
    }

    func run() throws {
        try ChainRunner.run(
            stages: [], input: input, output: output, global: global, io: io,
            outputType: type ?? mode.flatMap(MRCMode.outputType(forMode:)), slab: nil, threads: nil, command: "convert",
            operation: { from, to in from == to ? "convert" : "convert \(from) to \(to)" })
    }

    /// The stored type when none is asked for: lossless, and readable by every reader of the format
    /// (MRC's mode 0 is signed in MRC2014, so unsigned bytes become uint16 there).
    static func defaultOutputType(for input: ElementType, format: VolumeFormat) -> ElementType {
        switch (input, format) {
        case (.uint8, .mrc): return .uint16
        case (.uint4, .mrc): return .int8
        case (.uint4, .tiff): return .uint8
        default: return input
        }
    }
}

extension ElementType: ExpressibleByArgument {}

/// Refuses to write binary data to a terminal (almost always a forgotten redirection).
func refuseTerminalOutput(_ output: String) throws {
    if output == "-" && isatty(1) != 0 {
        throw ValidationError("stdout is a terminal: give an output path or redirect stdout (> out.mrc)")
    }
}
