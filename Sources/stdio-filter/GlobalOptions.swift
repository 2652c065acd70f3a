import ArgumentParser
import FilterKit

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("Memory budget for buffers, e.g. 256M, 2G.", valueName: "size"))
    var memory: ByteCount = ByteCount(512 << 20)

    @Flag(name: .long, help: "No warnings or progress on stderr (errors are still printed).")
    var quiet = false

    func validate() throws {
        guard memory.bytes >= 1 << 20 else {
            throw ValidationError("--memory must be at least 1M (got \(memory))")
        }
    }
}

extension ByteCount: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}
