import ArgumentParser
import FilterKit

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    /// The budget when `--memory` is not given and no stage asks for more.
    static let defaultMemory = 256 << 20

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Memory budget for buffers, e.g. 256M, 2G (default 256M, or what a stage suggests: 512M with s2s; the process adds ~32M of runtime).",
            valueName: "size"))
    var memory: ByteCount?

    @Flag(name: .long, help: "No warnings or progress on stderr (errors are still printed).")
    var quiet = false

    @Flag(name: .long, help: "Also print the memory plan (slab thickness and what each buffer takes) on stderr.")
    var verbose = false

    /// Any positive budget is accepted here: what a run needs depends on its volume and chain,
    /// and the memory plan refuses a budget too small with the amount it needs.
    func validate() throws {
        if let memory, memory.bytes < 1 {
            throw ValidationError("--memory must be positive, such as 64M (got \(memory))")
        }
    }

    /// The budget in bytes for commands without stages.
    var memoryBytes: Int { memory?.bytes ?? GlobalOptions.defaultMemory }

    /// The budget for a chain: `--memory`, else the largest a stage suggests (at least the default).
    func memoryBytes(for stages: [any Stage]) -> Int {
        memory?.bytes ?? stages.compactMap(\.suggestedMemoryBudget).reduce(GlobalOptions.defaultMemory, max)
    }

    /// Pipeline options from the global flags, for `stages`.
    func pipelineOptions(for stages: [any Stage]) -> PipelineOptions {
        PipelineOptions(memoryBudget: memoryBytes(for: stages), showProgress: !quiet)
    }
}

extension ByteCount: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}
