import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// The BLAS library the network layers run on (OpenBLAS through `cblas_sgemm`).
public enum BLASBackend {
    /// OpenBLAS's build description, such as `OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64`.
    public static var configuration: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text)
    }

    /// The CPU kernel family OpenBLAS selected at run time.
    public static var coreName: String {
        guard let text = openblas_get_corename() else { return "unknown" }
        return String(cString: text)
    }

    /// Kernel families OpenBLAS falls back to when it does not recognise the CPU model.
    static let fallbackCores: Set<String> = ["Prescott", "Core2", "Katmai", "Coppermine", "Northwood", "Banias", "Atom", "Nehalem", "Penryn", "Dunnington", "Sandybridge"]

    /// The kernel family to ask OpenBLAS for (through `OPENBLAS_CORETYPE`, read when the library
    /// loads) when it picked a generic one for a CPU it does not know, or nil when its choice is
    /// right. OpenBLAS 0.3.21 does not know recent Xeons (Sapphire Rapids) and runs them with
    /// SSE3 kernels at a third of the speed; their AVX-512 or AVX2 flags say what they can run.
    public static func betterCoreType(cpuFlags: Set<String>? = nil) -> String? {
        guard getenv("OPENBLAS_CORETYPE") == nil, fallbackCores.contains(coreName) else { return nil }
        let flags = cpuFlags ?? cpuinfoFlags()
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }

    /// The `flags` of the first processor in `/proc/cpuinfo`.
    static func cpuinfoFlags() -> Set<String> {
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            if text.hasPrefix("flags") {
                return Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" || $0 == "\n" }).map(String.init))
            }
        }
        return []
    }

    /// Threads OpenBLAS uses for one call; settable (the `--threads` option of compute stages).
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Stops OpenBLAS's thread pool, which it starts when it loads and whose idle workers spin
    /// a core each for about 0.1 s before they sleep. This program never uses that pool (the
    /// network calls OpenBLAS single-threaded from its own threads), so commands that start
    /// without `OPENBLAS_NUM_THREADS=1` call this first. Uses OpenBLAS's own fork handler
    /// `blas_thread_shutdown_` when the library has it (the pthreads build does; OpenBLAS starts
    /// the pool again if a later call needs it), and does nothing otherwise.
    public static func stopThreadPool() {
        // nil: RTLD_DEFAULT, every loaded library.
        guard let symbol = dlsym(nil, "blas_thread_shutdown_") else { return }
        typealias Shutdown = @convention(c) () -> Int32
        _ = unsafeBitCast(symbol, to: Shutdown.self)()
    }

    /// Computes `c = a · b` for row-major `a` (m×k) and `b` (k×n) in single precision.
    ///
    /// The one entry point the network layers build on; exposed so tests can check the link to
    /// OpenBLAS against a naive product.
    @inlinable
    public static func multiply(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b,
            Int32(n), 0, c, Int32(n))
    }
}
