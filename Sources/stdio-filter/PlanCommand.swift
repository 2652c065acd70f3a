import ArgumentParser
import FilterKit
import StageCatalog

/// `stdio-filter plan --parts N IN [--chain SPEC]`: the Z ranges of a split run.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Print the --zrange values that split a run's output into N parts (one per line).",
        discussion: """
            The ranges cover the output's sections (after the chain: bin changes their number) in
            near-equal parts. Each line is `z0:z1`, ready for `--zrange`; a cluster job array
            runs one line per task and `concat` joins the results.

            Examples:
              stdio-filter plan --parts 4 tomo.mrc
              stdio-filter plan --parts 8 --chain "bin:factor=2,gaussian:sigma=1" tomo.mrc
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Number of parts.", valueName: "n"))
    var parts: Int

    @Option(help: ArgumentHelp("The chain the parts will run (its output size decides the ranges).", valueName: "spec"))
    var chain: String?

    @Argument(help: ArgumentHelp("The input volume.", valueName: "input"))
    var input: String

    func validate() throws {
        guard parts >= 1 else { throw ValidationError("--parts must be at least 1 (got \(parts))") }
    }

    func run() throws {
        let stages = try makeStages(command: "plan", quiet: global.quiet) { try chain.map { try stageRegistry.makeChain(ChainSpec.parse($0)) } ?? [] }
        let console = Console(command: "plan", quiet: global.quiet)
        try console.run {
            let (_, reader) = try openVolume(input, memoryBudget: global.memoryBytes, console: console)
            var info = reader.info
            for stage in stages { info = try stage.outputInfo(for: info) }
            for range in VolumePart.ranges(sections: info.size.z, parts: parts) {
                print("\(range.lowerBound):\(range.upperBound)")
            }
        }
    }
}
