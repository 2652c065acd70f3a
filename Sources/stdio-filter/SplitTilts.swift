import ArgumentParser
import FilterKit
import Foundation
import S2SFilter
import StageCatalog
import Tomography
#if canImport(Glibc)
import Glibc
#endif

/// `stdio-filter split-tilts --tilts T IN FIRST SECOND`: the two sub-tomograms of alternate tilts
/// of a weighted back-projection, recovered from the tomogram alone (``BackProjectionSplit``).
struct SplitTilts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split-tilts",
        abstract: "Split a back-projected tomogram into the sub-tomograms of alternate tilts (independent noise, for n2n).",
        discussion: """
            A weighted back-projection is, in every plane perpendicular to the tilt axis, a sum of
            one profile per tilt smeared along its beam direction. Given the tilt angles, this
            command solves for those profiles (least squares per plane, conjugate gradients) and
            writes the reconstruction of the even-numbered tilts (in angle order) and that of the
            odd-numbered ones, each at the input's scale: two volumes whose noise comes from
            different exposures, as a reconstruction from even and odd tilts would give, for
            `stdio-filter n2n FIRST SECOND OUT` (s2s --tilts filters by their shared spectrum). The tilt axis (Y or X), the
            sign of the angles and each tilt's sub-voxel position are found from the volume; the
            fit's residual is printed and a volume that is not such a sum (filtered, binned or
            rotated after reconstruction, other angles) is refused when it exceeds --max-residual.
            Reads the whole volume (three copies in memory).

            Examples:
              stdio-filter split-tilts --tilts -60:60:3 tomo.mrc even.mrc odd.mrc
              stdio-filter split-tilts --tilts tomo.tlt tomo.mrc even.mrc odd.mrc
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var io: IOOptions
    @OptionGroup var tiltOptions: TiltOptions

    @Argument(help: ArgumentHelp("Input tomogram, or '-' for stdin.", valueName: "input"))
    var input: String

    @Argument(help: ArgumentHelp("Where the even-numbered tilts' reconstruction goes.", valueName: "first"))
    var first: String

    @Argument(help: ArgumentHelp("Where the odd-numbered tilts' reconstruction goes.", valueName: "second"))
    var second: String

    func run() throws {
        let console = Console(command: "split-tilts", quiet: global.quiet)
        try console.run {
            guard first != second, first != "-" || second != "-" else {
                throw FilterError.unsupported(source: "split-tilts \(first) \(second)", what: "both halves would go to the same place", hint: "give two different paths")
            }
            var split = try splitTomogram(input: input, tilts: tiltOptions, global: global, io: io, console: console)
            var halves = split.takeHalves()
            try writeVolumes(
                &halves,
                to: [(first, "stdio-filter split-tilts: even-numbered tilts of \(split.angles)"),
                     (second, "stdio-filter split-tilts: odd-numbered tilts of \(split.angles)")],
                info: split.info, io: io, operation: "split-tilts", protecting: [split.source], console: console)
        }
    }
}

/// The tilt geometry options of `split-tilts` and `s2s --tilts`.
struct TiltOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("The tilt angles the tomogram was reconstructed from: FIRST:LAST:STEP in degrees (-60:60:3), a file with one angle per line (IMOD .tlt), or auto (found from the volume's power spectrum). Each is refined on the volume.", valueName: "angles"))
    var tilts: String

    @Option(name: .customLong("tilt-axis"), help: ArgumentHelp("The tilt axis in the volume: auto (the one that fits), y or x.", valueName: "axis"))
    var axis: String = "auto"

    @Option(name: .customLong("max-residual"), help: ArgumentHelp("Refuse a volume that the back-projection of these tilts fits worse than this (relative).", valueName: "r"))
    var maxResidual: Double = 0.05

    func validate() throws {
        guard ["auto", "x", "y"].contains(axis) else { throw ValidationError("--tilt-axis: \(axis) is not auto, x or y") }
        guard maxResidual > 0, maxResidual <= 1 else { throw ValidationError("--max-residual: \(maxResidual) is not in (0, 1]") }
        if tilts != "auto" {
            do { _ = try TiltAngles(parsing: tilts) } catch let error as FilterError { throw ValidationError("\(error)") }
        }
    }

    /// The split these options describe (a file of angles read).
    func split() throws -> TiltSplit {
        try TiltSplit(tilts: tilts, axis: axis, maxResidual: maxResidual)
    }
}

/// A tomogram read whole and split into the reconstructions of its alternate tilts.
struct SplitTomogram {
    var source: InputSource
    var info: VolumeInfo
    var angles: TiltAngles
    var first: [Float]
    var second: [Float]

    /// The two halves, moved out (so that writing them in place copies nothing).
    mutating func takeHalves() -> [[Float]] {
        defer { first = []; second = [] }
        return [first, second]
    }
}

/// Reads `input` whole and splits it into the reconstructions of alternate tilts, holding three
/// volumes within `budget`.
func splitTomogram(input: String, tilts options: TiltOptions, global: GlobalOptions, io: IOOptions, console: Console) throws -> SplitTomogram {
    let budget = global.memoryBytes
    let (source, reader) = try io.openInput(input, memoryBudget: budget, console: console)
    let size = reader.info.size
    let needed = 3 * size.voxelCount * 4 + MemoryPlan.runtimeOverhead
    guard needed <= budget else {
        throw FilterError.memoryBudget(what: "split-tilts of \(size) voxels (the volume and both halves in memory)", needed: needed, budget: budget)
    }
    guard TiltSplit.canSplit(size) else {
        throw FilterError.unsupported(source: source.name, what: "a volume of \(size) voxels", hint: "split-tilts needs at least \(TiltSplit.minimumEdge) voxels along each axis")
    }
    var volume = [Float](repeating: 0, count: size.voxelCount)
    try volume.withUnsafeMutableBufferPointer { try reader.readSections(0..<size.z, into: $0.baseAddress!) }
    let start = ProgressReporter.now()
    let split = try options.split()
    let geometry = try volume.withUnsafeBufferPointer { try split.geometry(of: $0.baseAddress!, size: size, source: source.name, log: console.note) }
    let planeCount = geometry.fit.axis == .y ? size.y : size.x
    let progress = ProgressReporter(label: "split-tilts", total: planeCount, unit: "planes", enabled: !global.quiet)
    let (first, second, residual) = volume.withUnsafeBufferPointer { TiltSplit.halves(of: $0.baseAddress!, size: size, geometry: geometry, progress: progress.update) }
    progress.finish()
    console.note(String(format: "split %d planes in %@ s, residual %.2f %%", planeCount, String(format: "%.1f", ProgressReporter.now() - start), residual * 100))
    return SplitTomogram(source: source, info: reader.info, angles: geometry.angles, first: first, second: second)
}

/// Writes whole volumes of `info`'s size (`volumes[i]` to `outputs[i]`, with its label; the
/// writers may convert the values in place), all or none: a failure removes every output begun.
func writeVolumes(
    _ volumes: inout [[Float]], to outputs: [(path: String, label: String)], info: VolumeInfo, io: IOOptions, operation: String,
    protecting inputs: [InputSource], console: Console
) throws {
    var writers: [any VolumeWriter] = []
    do {
        for (index, output) in outputs.enumerated() {
            var labelled = info
            labelled.labels[0] = String(output.label.prefix(80))
            let writer = try io.createOutput(output.path, info: labelled, operation: operation, protecting: inputs, console: console)
            writers.append(writer)
            try volumes[index].withUnsafeMutableBufferPointer { try writer.writeRows(info.size.z * info.size.y, from: $0.baseAddress!) }
        }
        try writers.forEach { try $0.finish() }
    } catch {
        writers.forEach { $0.abort() }
        throw error
    }
}
