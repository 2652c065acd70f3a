import ArgumentParser
import FilterKit
import StageCatalog

/// `stdio-filter run --chain`: several stages in one process.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a chain of stages in one process: --chain \"gaussian:sigma=2,bin:factor=2\".",
        discussion: """
            Stages are separated by ',' and parameters by ':' (name=value), as in FFmpeg's -vf.
            'stdio-filter list' shows every stage with its parameters. The chain streams Z slabs
            through all stages within --memory; the result is bit for bit what the same stages
            give one per process in a pipe.

            Examples:
              stdio-filter run --chain "gaussian:sigma=2,bin:factor=2" in.mrc out.mrc
              stdio-filter run --chain "crop:z=100..300,normalize" < in.mrc > out.mrc
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var chainOptions: ChainOptions
    @OptionGroup var io: IOOptions

    @Option(help: ArgumentHelp("The stages, such as gaussian:sigma=2,median:size=3.", valueName: "spec"))
    var chain: String

    @Argument(help: ArgumentHelp("Input MRC file, or '-' for stdin.", valueName: "input"))
    var input: String = "-"

    @Argument(help: ArgumentHelp("Output MRC file, or '-' for stdout.", valueName: "output"))
    var output: String = "-"

    func run() throws {
        let stages = try makeStages(command: "run", quiet: global.quiet) { try stageRegistry.makeChain(ChainSpec.parse(chain)) }
        try ChainRunner.run(
            stages: stages, input: input, output: output, global: global, chain: chainOptions, io: io,
            command: "run", operation: "run \(chain)")
    }
}

/// `stdio-filter list`: the stages and their parameters.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every stage with its parameters, defaults and units.",
        discussion: """
            Each stage runs alone as a subcommand or in a chain of `run --chain`.
            Examples:
              stdio-filter list
              stdio-filter list | grep -A20 '^s2s'
            """)

    func run() throws {
        let registry = stageRegistry
        func show(_ name: String, _ summary: String, _ parameters: [StageParameter]) {
            print("\(name): \(summary)")
            for p in parameters {
                let value = p.defaultValue.map { "default \($0)\(p.unit.isEmpty || $0 == "all" ? "" : " \(p.unit)")" } ?? "required"
                print("    \(p.name)  (\(value))  \(p.help); \(p.expectation)")
            }
        }
        for factory in registry.factories { show(factory.name, factory.summary, factory.parameters) }
        for stage in registry.runtime { show(stage.name, "\(stage.summary) (from \(stage.origin))", stage.parameters) }
        print("")
        print("Use a stage alone as a subcommand (stdio-filter gaussian --sigma 2 in.mrc out.mrc)")
        print("or several in one process (stdio-filter run --chain \"gaussian:sigma=2,bin:factor=2\" in.mrc out.mrc);")
        print("plugin stages (--plugin PATH.so) run as stdio-filter stage NAME [--param value] IN OUT, or in a chain.")
    }
}
