import ArgumentParser
import FilterKit

/// Options of commands that run stages: output type, slab thickness, threads.
struct ChainOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Output MRC mode: 0 int8, 1 int16, 2 float32, 6 uint16, 12 float16 (default: float32, or the input's for lossless chains).", valueName: "mode"))
    var mode: Int?

    @Option(help: ArgumentHelp("Output type by name: int8, int16, uint16, float16, float32.", valueName: "type"))
    var type: ElementType?

    @Option(help: ArgumentHelp("Output sections per step (default: the thickest that fits --memory).", valueName: "n"))
    var slab: Int?

    @Option(
        help: ArgumentHelp(
            "Work on bricks of this X-Y size instead of whole sections (default: bricks only when one whole section does not fit --memory; --verbose says which).",
            valueName: "XxY"))
    var brick: BrickSize?

    @Option(help: ArgumentHelp("Threads for compute stages (default: the CPUs this process may use, as taskset or SLURM set them).", valueName: "n"))
    var threads: Int?

    @Option(
        help: ArgumentHelp(
            "Compute only output sections z0 ..< z1 of the full result and write them as a part file (MRC; see concat and plan).",
            valueName: "z0:z1"))
    var zrange: SectionRange?

    @Option(
        help: ArgumentHelp(
            "The second input of a stage that takes two halves (n2n): the other half's reconstruction, a path or '-' for stdin.",
            valueName: "path"))
    var pair: String?

    func validate() throws {
        if mode != nil && type != nil { throw ValidationError("give --mode or --type, not both") }
        if let mode, MRCMode.outputType(forMode: mode) == nil { throw ValidationError("--mode must be \(MRCMode.outputList) (got \(mode))") }
        if type == .uint4 { throw ValidationError("--type uint4 (mode 101) cannot be written") }
        if let slab, slab < 1 { throw ValidationError("--slab must be at least 1 (got \(slab))") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    var outputType: ElementType? { type ?? mode.flatMap(MRCMode.outputType(forMode:)) }
}

/// `XxY` (or one number for both): the X-Y size of bricks.
struct BrickSize: ExpressibleByArgument {
    let size: SIMD2<Int>

    init?(argument: String) {
        let values = argument.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard values.count == 1 || values.count == 2, values.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        size = SIMD2(values[0]!, values.count == 2 ? values[1]! : values[0]!)
    }
}

/// `z0:z1`, a half-open range of sections.
struct SectionRange: ExpressibleByArgument {
    let range: Range<Int>

    init?(argument: String) {
        let bounds = argument.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard bounds.count == 2, let z0 = bounds[0], let z1 = bounds[1], z0 >= 0, z1 > z0 else { return nil }
        range = z0..<z1
    }
}

/// Runs a chain of stages from an input path to an output path (`-` for the standard streams):
/// what `convert`, every stage subcommand and `run` share.
enum ChainRunner {
    static func run(
        stages: [any Stage], input: String, output: String, global: GlobalOptions, chain: ChainOptions, io: IOOptions,
        command: String, operation: String
    ) throws {
        try run(
            stages: stages, input: input, second: chain.pair, output: output, global: global, io: io, outputType: chain.outputType,
            slab: chain.slab, brick: chain.brick?.size, threads: chain.threads, zrange: chain.zrange?.range, command: command, operation: { _, _ in operation })
    }

    /// - Parameters:
    ///   - second: the second input of a chain starting with a stage that takes two halves.
    ///   - outputType: the stored type, or nil for the chain's own (see ``Convert/defaultOutputType(for:format:)``).
    ///   - operation: the label added to the output, given the input's and the output's stored types.
    static func run(
        stages: [any Stage], input: String, second: String? = nil, output: String, global: GlobalOptions, io: IOOptions, outputType: ElementType?,
        slab: Int?, brick: SIMD2<Int>? = nil, threads: Int?, zrange: Range<Int>? = nil, command: String, operation: (ElementType, ElementType) -> String
    ) throws {
        let console = Console(command: command, quiet: global.quiet)
        try console.run {
            try refuseTerminalOutput(output)
            if let threads { Parallel.threads = threads }
            Log.handler = { console.note($0) }
            if input == "-" && second == "-" { throw ValidationError("only one input can be stdin ('-'): give the other half as a path") }
            var (source, reader) = try io.openInput(input, memoryBudget: global.memoryBytes(for: stages), console: console)
            let report = RunReport(stages: stages)
            if let report, report.path == output || report.path == input {
                throw ValidationError("--report \(report.path) names the \(report.path == output ? "output" : "input"): give the picture its own path")
            }
            let recordingReader = report.map { _ in RecordingReader(reader) }
            if let recordingReader { reader = recordingReader }
            let other = try second.map { try io.openInput($0, memoryBudget: global.memoryBytes(for: stages), console: console) }
            var options = global.pipelineOptions(for: stages)
            options.slabSections = slab
            options.brick = brick
            options.outputSections = zrange
            if zrange != nil, try io.outputFormat(for: output) != .mrc {
                throw FilterError.invalidParameter(name: "zrange", value: output, expected: "an MRC output (part files record their place in MRC labels)")
            }
            let pipeline = try Pipeline(reader: reader, second: other?.1, stages: stages, options: options)
            if global.verbose { console.note("memory plan within \(ByteCount(options.memoryBudget)): \(pipeline.plan)") }
            var info = pipeline.writtenInfo
            info.elementType = try outputType ?? Convert.defaultOutputType(for: info.elementType, format: io.outputFormat(for: output))
            let inputs = [source] + (other.map { [$0.0] } ?? [])
            var writer = try io.createOutput(
                output, info: info, operation: operation(reader.info.elementType, info.elementType), protecting: inputs, console: console)
            let recordingWriter = report.map { _ in RecordingWriter(writer, info: info) }
            if let recordingWriter { writer = recordingWriter }
            do {
                try pipeline.run(writer: writer)
                try writer.finish()
                if global.verbose && pipeline.copiedStoredBytes { console.note("the stored bytes were copied unchanged inside the kernel (copy_file_range)") }
            } catch {
                writer.abort()
                throw error
            }
            if let report, let recordingReader, let recordingWriter {
                try report.write(
                    input: input == "-" ? "stdin" : input, output: output == "-" ? "stdout" : output,
                    before: recordingReader.recorder, after: recordingWriter.recorder, protecting: inputs, console: console)
            }
            if writer.clampedCount > 0 {
                console.warn("\(writer.clampedCount) voxels were outside the \(info.elementType) range (or NaN) and were clamped")
            }
        }
    }
}
