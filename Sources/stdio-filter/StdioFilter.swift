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
            Exit status: 0 success, 64 bad usage, 1 failure (one line on stderr says why).
            Plugins: --plugin PATH.so (repeatable, on any command) or the *.so files in the
            directories of STDIO_FILTER_PLUGIN_PATH add stages at run time (stdio_filter_plugin.h);
            run them with `stage NAME` or in `run --chain`.
            """,
        version: StdioFilterVersion.string,
        subcommands: [Info.self, Convert.self, Run.self, List.self, Concat.self, PlanCommand.self, StatsCommand.self, NoiseCommand.self, SplitTilts.self, Synth.self, Score.self, PreviewCommand.self, StageByName.self] + builtInStages.map(stageCommand) + [Bench.self, Version.self]
    )

    static func main() {
        restartWithTunedLibraries()
        var arguments = Array(CommandLine.arguments.dropFirst())
        PluginArguments.loadOrExit(&arguments)
        main(arguments)
    }

    /// Settings that the numeric libraries read only when they load, so a process can only give
    /// them to itself by running again (`exec`, before anything is read or written: the standard
    /// streams pass through untouched). At most one restart; settings you give are kept.
    ///
    /// - `OPENBLAS_CORETYPE`: when OpenBLAS chose generic kernels for a CPU it does not know,
    ///   the kernels the CPU supports (docs/nn.md).
    /// - `GOMP_SPINCOUNT=10000`: oneDNN's OpenMP threads spin about 30× less after each
    ///   convolution before sleeping, instead of holding a core the element-wise layers need
    ///   (full 32³ training step: 315 → 285 ms on 2 cores).
    static func restartWithTunedLibraries() {
        var changed = false
        if let core = BLASBackend.betterCoreType() {
            setenv("OPENBLAS_CORETYPE", core, 1)
            changed = true
        }
        if getenv("GOMP_SPINCOUNT") == nil && getenv("OMP_WAIT_POLICY") == nil {
            setenv("GOMP_SPINCOUNT", "10000", 1)
            changed = true
        }
        guard changed else { return }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // If exec fails, carry on with the libraries' defaults.
    }
}

/// The release this build reports.
enum StdioFilterVersion {
    static let string = "0.1.0"
}
