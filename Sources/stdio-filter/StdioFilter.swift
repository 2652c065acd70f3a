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
            """,
        version: StdioFilterVersion.string,
        subcommands: [Info.self, Convert.self, Run.self, List.self, Concat.self, PlanCommand.self, StatsCommand.self, Synth.self, Score.self, PreviewCommand.self] + stageRegistry.factories.map(stageCommand) + [Bench.self, Version.self]
    )

    static func main() {
        restartWithBetterBLASKernels()
        main(nil)
    }

    /// When OpenBLAS chose generic kernels for a CPU it does not know, runs this program again
    /// with `OPENBLAS_CORETYPE` naming the kernels the CPU supports (read only at library load).
    /// Nothing has been read or written yet, so standard streams pass through untouched.
    static func restartWithBetterBLASKernels() {
        guard let core = BLASBackend.betterCoreType() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        let arguments = CommandLine.unsafeArgv
        execv("/proc/self/exe", arguments)
        // If exec fails, carry on with the generic kernels.
    }
}

/// The release this build reports.
enum StdioFilterVersion {
    static let string = "0.1.0"
}
