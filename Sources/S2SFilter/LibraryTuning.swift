#if canImport(Glibc)
import Glibc
#endif

/// Settings that the numeric libraries under the network read only when they load, so a process
/// can give them to itself only by running again (`exec`, before anything is read or written).
public enum LibraryTuning {
    /// The environment variables to set before the libraries load, given the current
    /// environment and OpenBLAS's better kernel family (``BLASBackend/betterCoreType(cpuFlags:)``);
    /// empty when nothing needs changing. A setting already given is kept.
    ///
    /// - `OPENBLAS_CORETYPE`: when OpenBLAS chose generic kernels for a CPU it does not know,
    ///   the kernels the CPU supports (docs/nn.md).
    /// - `GOMP_SPINCOUNT=10000`: oneDNN's OpenMP threads spin about 30× less after each
    ///   convolution before sleeping, instead of holding a core the element-wise layers need
    ///   (full 32³ training step: 315 → 285 ms on 2 cores). Not with `OMP_WAIT_POLICY` given.
    /// - `OPENBLAS_NUM_THREADS=1`: the network calls OpenBLAS from its own threads, one call per
    ///   thread (``BLASBackend/threads`` is 1 before the first call), so OpenBLAS's thread pool
    ///   is never used; without this its idle worker spins a core for 0.1 s after loading.
    public static func settings(environment: [String: String], betterCoreType: String?) -> [(name: String, value: String)] {
        var settings: [(name: String, value: String)] = []
        if let betterCoreType, environment["OPENBLAS_CORETYPE"] == nil {
            settings.append(("OPENBLAS_CORETYPE", betterCoreType))
        }
        if environment["GOMP_SPINCOUNT"] == nil && environment["OMP_WAIT_POLICY"] == nil {
            settings.append(("GOMP_SPINCOUNT", "10000"))
        }
        if environment["OPENBLAS_NUM_THREADS"] == nil {
            settings.append(("OPENBLAS_NUM_THREADS", "1"))
        }
        return settings
    }

    /// The variables of ``settings(environment:betterCoreType:)`` that this process lacks, read
    /// from its environment and CPU.
    public static func settingsForThisProcess() -> [(name: String, value: String)] {
        var environment: [String: String] = [:]
        for name in ["OPENBLAS_CORETYPE", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS"] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        return settings(environment: environment, betterCoreType: BLASBackend.betterCoreType())
    }
}
