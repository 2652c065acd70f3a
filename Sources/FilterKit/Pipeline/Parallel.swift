import CSystem
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Splits loops across the machine's cores (compute stages written in Swift; BLAS and FFTW
/// run their own threads).
public enum Parallel {
    /// Threads used by ``forEachChunk(_:minimumChunk:_:)`` (and by oneDNN): the cores this process
    /// may run on unless set lower (`--threads`).
    nonisolated(unsafe) public static var threads: Int = availableCores

    /// The cores this process may run on: its CPU affinity (what SLURM, `taskset` or a container
    /// grant), not the machine's count — a 2-CPU task on a 64-core node must not start 64 threads.
    public static var availableCores: Int {
        let allowed = Int(sf_available_cpus())
        return allowed > 0 ? allowed : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Calls `body` with contiguous sub-ranges of `0..<count`, in parallel, and returns when all
    /// are done. Each range has at least `minimumChunk` items (except possibly the last).
    ///
    /// `body` runs concurrently on several threads: it must only write where its range says.
    public static func forEachChunk(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        forEachPiece(count, minimumChunk: minimumChunk) { _, range in body(range) }
    }

    /// Like ``forEachChunk(_:minimumChunk:_:)``, also passing the piece's index (below
    /// ``threads`` and below `maximumPieces`: the scratch buffers a caller set up), so that each
    /// piece can use its own scratch; rethrows the first error.
    public static func forEachPiece(
        _ count: Int, minimumChunk: Int = 1, maximumPieces: Int = .max, _ body: (Int, Range<Int>) throws -> Void
    ) rethrows {
        guard count > 0 else { return }
        let pieces = min(threads, maximumPieces, max(1, count / max(1, minimumChunk)))
        if pieces <= 1 {
            try body(0, 0..<count)
            return
        }
        let errors = UnsafeMutablePointer<(any Error)?>.allocate(capacity: pieces)
        errors.initialize(repeating: nil, count: pieces)
        defer {
            errors.deinitialize(count: pieces)
            errors.deallocate()
        }
        try withoutActuallyEscaping(body) { escapable in
            nonisolated(unsafe) let work = escapable
            nonisolated(unsafe) let slots = errors
            DispatchQueue.concurrentPerform(iterations: pieces) { p in
                let lower = count * p / pieces, upper = count * (p + 1) / pieces
                guard lower < upper else { return }
                do { try work(p, lower..<upper) } catch { slots[p] = error }
            }
            if let error = (0..<pieces).lazy.compactMap({ errors[$0] }).first { try { throw error }() }
        }
    }
}
