import ArgumentParser
import FilterKit
import RuntimePlugins
import StageCatalog
#if canImport(Glibc)
import Glibc
#endif

/// `--plugin PATH` (repeatable, anywhere on the command line) and `$STDIO_FILTER_PLUGIN_PATH`:
/// plugins are loaded before the command line is parsed, so that their stages exist for `list`,
/// `stage NAME` and `run --chain`. A run that names no plugin does no more than scan its
/// arguments and read one environment variable.
enum PluginArguments {
    /// Removes `--plugin PATH` and `--plugin=PATH` from `arguments` (up to a `--`) and returns the paths.
    static func extract(_ arguments: inout [String]) throws -> [String] {
        var paths: [String] = [], kept: [String] = []
        var i = 0
        while i < arguments.count {
            let word = arguments[i]
            if word == "--" {
                kept += arguments[i...]
                break
            }
            if word == "--plugin" {
                guard i + 1 < arguments.count else { throw ValidationError("--plugin needs the path of a plugin (a shared library)") }
                paths.append(arguments[i + 1])
                i += 2
                continue
            }
            if word.hasPrefix("--plugin=") {
                paths.append(String(word.dropFirst("--plugin=".count)))
                i += 1
                continue
            }
            kept.append(word)
            i += 1
        }
        arguments = kept
        return paths
    }

    /// Loads the plugins the command line and the environment name; exits with one line on a bad one.
    static func loadOrExit(_ arguments: inout [String]) {
        do {
            let paths = try extract(&arguments) + PluginLoader.pathsFromEnvironment()
            guard !paths.isEmpty else { return }
            try PluginLoader.load(paths, reserved: Set(builtInStages.map { $0.name }))
        } catch let error as ValidationError {
            Console.writeLine("stdio-filter: error: \(error)")
            exit(64)
        } catch {
            Console.writeLine("stdio-filter: error: \(error)")
            exit(1)
        }
    }
}

/// `stdio-filter stage NAME [--param value …] [IN] [OUT]`: any stage by name, built in or from a
/// plugin (built-in stages also have their own subcommands).
struct StageByName: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage",
        abstract: "Run one stage by name, built in or loaded from a plugin (--plugin PATH.so).",
        discussion: """
            The stage's parameters follow its name as --name value; then the input and output
            (default stdin and stdout). `stdio-filter list` shows every stage and where it came from.
            Examples:
              stdio-filter --plugin ./threshold.so stage threshold --level 0.5 in.mrc mask.mrc
              stdio-filter stage gaussian --sigma 2 < in.mrc > out.mrc
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var chainOptions: ChainOptions
    @OptionGroup var io: IOOptions

    @Argument(help: ArgumentHelp("The stage's name.", valueName: "name"))
    var name: String

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Stage parameters (--name value), then input and output paths.", valueName: "arguments"))
    var arguments: [String] = []

    func run() throws {
        try runStage(named: name, arguments: arguments, global: global, chainOptions: chainOptions, io: io)
    }
}
