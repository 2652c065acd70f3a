import CBLAS

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

    /// Threads OpenBLAS uses for one call; settable (the `--threads` option of compute stages).
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
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
