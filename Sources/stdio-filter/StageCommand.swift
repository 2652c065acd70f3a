import ArgumentParser
import FilterKit
import S2SFilter
import StageCatalog

/// A stage as its own subcommand (`stdio-filter gaussian --sigma 2 in.mrc out.mrc`), made for
/// every registered factory, so that stages chain through pipes.
struct StageCommand<Factory: StageFactory>: ParsableCommand {
    static var configuration: CommandConfiguration {
        let parameters = Factory.parameters.map { p in
            "  --\(p.name) <value>  \(p.help) (\(p.defaultValue.map { "default \($0)" } ?? "required"); \(p.expectation))"
        }.joined(separator: "\n")
        return CommandConfiguration(
            commandName: Factory.name,
            abstract: Factory.summary,
            discussion: Factory.discussion + "\n\nStage parameters:\n" + parameters
                + (Factory.inputCount == 2
                    ? "\n\nUsage: stdio-filter \(Factory.name) [--<parameter> <value> …] <first half> <second half> [<output>]"
                        + "\n(either half may be '-' for stdin; the output defaults to stdout)"
                    : "\n\nUsage: stdio-filter \(Factory.name) [--<parameter> <value> …] [<input>] [<output>]"
                        + "\n(input and output default to stdin and stdout)"))
    }

    @OptionGroup var global: GlobalOptions
    @OptionGroup var chainOptions: ChainOptions
    @OptionGroup var io: IOOptions

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Stage parameters (--name value), then input and output paths.", valueName: "arguments"))
    var arguments: [String] = []

    func run() throws {
        try runStage(named: Factory.name, arguments: arguments, global: global, chainOptions: chainOptions, io: io)
    }
}

/// Runs one stage by name (built in or from a plugin) from `--name value` parameters and paths:
/// what every stage subcommand and `stage NAME` do. A stage taking two halves reads
/// `FIRST SECOND [OUTPUT]`, or `--pair SECOND FIRST [OUTPUT]`.
func runStage(named name: String, arguments: [String], global: GlobalOptions, chainOptions: ChainOptions, io: IOOptions) throws {
    var (given, paths) = try splitStageArguments(arguments)
    // s2s by default: n2n on the halves beside the input, else split a weighted back-projection
    // into its alternate tilts, else masks.
    let defaultDenoiser = name == S2SFactory.name && paths.count <= 2
        ? try S2SDefaultDenoiser.choose(
            given: given, input: paths.first ?? "-", output: paths.count > 1 ? paths[1] : "-", global: global, chain: chainOptions, io: io) : nil
    if let defaultDenoiser {
        if paths.isEmpty { paths = [defaultDenoiser.input] } else { paths[0] = defaultDenoiser.input }
    }
    var options = chainOptions
    let stage: any Stage
    if let defaultDenoiser, let halves = defaultDenoiser.halves {
        stage = try defaultDenoiser.halvesStage(given: given, quiet: global.quiet)
        options.pair = halves.odd
    } else {
        stage = try defaultDenoiser?.tiltSplit ?? makeStages(command: name, quiet: global.quiet) {
            try stageRegistry.makeChain([ChainSpec.Element(name: name, parameters: given)])
        }[0]
    }
    if (stage as? PairedInputStage)?.takesSecondInput == true, options.pair == nil {
        guard paths.count >= 2 else {
            throw ValidationError("\(name) takes two inputs, the two halves: \(name) [--<parameter> <value> …] FIRST SECOND [OUTPUT] (or --pair SECOND)")
        }
        options.pair = paths.remove(at: 1)
    }
    guard paths.count <= 2 else {
        throw ValidationError("too many paths: \(paths.joined(separator: " ")) (give at most an input and an output)")
    }
    // The header's label says what ran: n2n on the halves, when s2s found them.
    let halves = defaultDenoiser?.halves.map { ["n2n", "halves=\($0.even),\($0.odd)"] }
    let operation = ((halves ?? [name]) + given.map { "\($0.0)=\($0.1)" }).joined(separator: " ")
    try withExtendedLifetime(defaultDenoiser) {
        try ChainRunner.run(
            stages: [stage], input: paths.first ?? "-", output: paths.count > 1 ? paths[1] : "-",
            global: global, chain: options, io: io, command: name, operation: operation)
    }
}

/// `--name value` and `--name=value` pairs, and the remaining words (paths; `-` included).
func splitStageArguments(_ words: [String]) throws -> ([(String, String)], [String]) {
    var given: [(String, String)] = []
    var paths: [String] = []
    var i = 0
    while i < words.count {
        let word = words[i]
        if word.hasPrefix("--") {
            let body = word.dropFirst(2)
            if let eq = body.firstIndex(of: "=") {
                given.append((String(body[..<eq]), String(body[body.index(after: eq)...])))
            } else {
                guard i + 1 < words.count else { throw ValidationError("\(word) needs a value") }
                given.append((String(body), words[i + 1]))
                i += 1
            }
        } else {
            paths.append(word)
        }
        i += 1
    }
    return (given, paths)
}

/// The subcommand type for a factory (opens the existential).
func stageCommand(_ factory: any StageFactory.Type) -> ParsableCommand.Type {
    func open<F: StageFactory>(_: F.Type) -> ParsableCommand.Type { StageCommand<F>.self }
    return open(factory)
}
