import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Splits loops across the machine's cores (compute stages written in Swift; BLAS and FFTW
/// run their own threads).
public enum Parallel {
    /// Threads used by ``forEachChunk(_:minimumChunk:_:)``: the online cores unless set lower.
    nonisolated(unsafe) public static var threads: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Calls `body` with contiguous sub-ranges of `0..<count`, in parallel, and returns when all
    /// are done. Each range has at least `minimumChunk` items (except possibly the last).
    ///
    /// `body` runs concurrently on several threads: it must only write where its range says.
    public static func forEachChunk(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let pieces = min(threads, max(1, count / max(1, minimumChunk)))
        if pieces <= 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            nonisolated(unsafe) let work = escapable
            DispatchQueue.concurrentPerform(iterations: pieces) { p in
                let lower = count * p / pieces, upper = count * (p + 1) / pieces
                if lower < upper { work(lower..<upper) }
            }
        }
    }
}
