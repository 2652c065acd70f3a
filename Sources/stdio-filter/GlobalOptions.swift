import ArgumentParser
import FilterKit

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("Memory budget for buffers, e.g. 256M, 2G (the process adds ~24M of runtime).", valueName: "size"))
    var memory: ByteCount = ByteCount(256 << 20)

    @Flag(name: .long, help: "No warnings or progress on stderr (errors are still printed).")
    var quiet = false

    func validate() throws {
        guard memory.bytes >= 32 << 20 else {
            throw ValidationError("--memory must be at least 32M (got \(memory))")
        }
    }

    /// Pipeline options from the global flags.
    var pipelineOptions: PipelineOptions {
        PipelineOptions(memoryBudget: memory.bytes, showProgress: !quiet)
    }
}

extension ByteCount: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}
