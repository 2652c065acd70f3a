#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import S2SFilter
import StageCatalog

/// The `stdio-filter` command: denoise and deconvolve cryo-ET tomograms as a stream.
@main
struct StdioFilter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stdio-filter",
        abstract: "Stream cryo-ET tomograms through filters: files or Unix pipes, bounded memory.",
        discussion: """
            Paths may be '-' (or left out) for stdin/stdout, so filters chain in a pipe:
              stdio-filter gaussian --sigma 2 < in.mrc | stdio-filter bin --factor 2 > out.mrc
            or in one process:
              stdio-filter run --chain "gaussian:sigma=2,bin:factor=2" in.mrc out.mrc
            Logs and progress go to stderr; stdout carries only data.
            Exit status: 0 success, 64 bad usage (also a value that does not fit the input), 1 failure
            (the data, the files, the system); one line on stderr says why.
            Plugins: --plugin PATH.so (repeatable, on any command) or the *.so files in the
            directories of STDIO_FILTER_PLUGIN_PATH add stages at run time (stdio_filter_plugin.h);
            run them with `stage NAME` or in `run --chain`.
            """,
        version: StdioFilterVersion.string,
        subcommands: [Info.self, Convert.self, Run.self, List.self, Concat.self, PlanCommand.self, StatsCommand.self, NoiseCommand.self, SplitTilts.self, Synth.self, Score.self, PreviewCommand.self, StageByName.self] + builtInStages.map(stageCommand) + [Bench.self, Version.self]
    )

    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if runsTheNetwork(arguments) { restartWithTunedLibraries() }
        BLASBackend.stopThreadPool()
        PluginArguments.loadOrExit(&arguments)
        main(arguments)
    }

    /// The subcommands that can run the U-Net (on oneDNN/OpenMP, or OpenBLAS), and `version`,
    /// which reports the OpenBLAS kernels they use: only they restart with tuned libraries. The
    /// others (convert, gaussian, info…) start once: a restart costs 15–20 ms, the time of
    /// 60 MiB of `convert`.
    static let networkCommands: Set<String> = ["s2s", "n2n", "run", "stage", "bench", "version"]

    /// Whether `arguments` (without the program name) name one of ``networkCommands``: the first
    /// word that is not an option, once `--plugin PATH` pairs are set aside.
    static func runsTheNetwork(_ arguments: [String]) -> Bool {
        var words = arguments
        guard (try? PluginArguments.extract(&words)) != nil else { return false }
        guard let command = words.first(where: { !$0.hasPrefix("-") }) else { return false }
        return networkCommands.contains(command)
    }

    /// Runs this program again with ``LibraryTuning`` settings when the libraries lack some
    /// (`exec` before anything is read or written: the standard streams pass through untouched).
    /// At most one restart: the second process finds them set.
    static func restartWithTunedLibraries() {
        let settings = LibraryTuning.settingsForThisProcess()
        guard !settings.isEmpty else { return }
        for (name, value) in settings { setenv(name, value, 1) }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // If exec fails, carry on with the libraries' defaults.
    }
}

/// The release this build reports.
enum StdioFilterVersion {
    static let string = "0.1.0"
}
