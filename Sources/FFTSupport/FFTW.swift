import CFFTW
import FilterKit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// FFTW (single precision) done once per process: threads initialised, wisdom loaded from and
/// saved to `$XDG_CACHE_HOME/stdio-filter/fftwf-wisdom` (or `~/.cache/…`), and every call that is
/// not thread-safe in FFTW (planning, destroying plans) made under one lock.
package enum FFTW {
    /// How hard the planner tries: FFTW's ESTIMATE, MEASURE or PATIENT, or `auto`: wisdom when
    /// there is some for the shape, else MEASURE for transforms up to ``autoMeasureLimit`` values
    /// (the 1-D and 2-D transforms of out-of-core runs: measured in well under a second, run
    /// thousands of times) and ESTIMATE above: measuring a 256³ transform took 13 s on a run of
    /// 0.4 s and made it no faster, and most shapes are run once.
    package enum Rigor: String, CaseIterable, Sendable {
        case auto, estimate, measure, patient

        package var flags: UInt32 {
            switch self {
            case .estimate, .auto: return UInt32(FFTW_ESTIMATE)
            case .measure: return UInt32(FFTW_MEASURE)
            case .patient: return UInt32(FFTW_PATIENT)
            }
        }
    }

    /// Transforms of at most this many values are measured under ``Rigor/auto`` (a 1024² section).
    package static let autoMeasureLimit = 1 << 20

    /// Planning takes at most this long per plan (FFTW then uses the best plan found so far).
    package static let planningTimeLimit = 20.0

    private struct State {
        var initialised = false
        var wisdomChanged = false
    }

    private static let state = Mutex(State())

    /// The wisdom file, or nil when there is no home or cache directory.
    package static var wisdomPath: String? {
        let env = { (name: String) in getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }
        guard let cache = env("XDG_CACHE_HOME") ?? env("HOME").map({ "\($0)/.cache" }) else { return nil }
        return "\(cache)/stdio-filter/fftwf-wisdom"
    }

    private static func initialiseLocked(_ s: inout State) {
        guard !s.initialised else { return }
        s.initialised = true
        fftwf_init_threads()
        fftwf_set_timelimit(planningTimeLimit)
        if let path = wisdomPath { _ = fftwf_import_wisdom_from_filename(path) }
    }

    /// Makes a plan with `threads` threads; `make` receives the planner flags. Arrays given to
    /// `make` are overwritten by MEASURE and PATIENT: plan before filling them.
    ///
    /// - Parameter values: the transform's size in values, for ``Rigor/auto``.
    package static func plan(threads: Int, rigor: Rigor, values: Int, what: String, _ make: (UInt32) -> OpaquePointer?) throws -> Plan {
        try state.withLock { s in
            initialiseLocked(&s)
            fftwf_plan_with_nthreads(Int32(max(1, threads)))
            var effective = rigor
            if rigor == .auto {
                if let p = make(UInt32(FFTW_MEASURE) | UInt32(FFTW_WISDOM_ONLY)) { return Plan(p) }
                effective = values <= autoMeasureLimit ? .measure : .estimate
            }
            guard let p = make(effective.flags) else {
                throw FilterError.unsupported(source: "FFTW", what: "could not plan \(what)", hint: "")
            }
            if effective != .estimate { s.wisdomChanged = true }
            return Plan(p)
        }
    }

    /// Saves the wisdom gathered by this process (atomically: other processes may share the file).
    package static func saveWisdom() {
        state.withLock { s in
            guard s.wisdomChanged, let path = wisdomPath else { return }
            s.wisdomChanged = false
            let directory = String(path[..<path.lastIndex(of: "/")!])
            makeDirectories(directory)
            let temporary = "\(path).\(getpid())"
            if fftwf_export_wisdom_to_filename(temporary) != 0 {
                rename(temporary, path)
            } else {
                unlink(temporary)
            }
        }
    }

    /// `mkdir -p`: creates `path` and its missing parents (errors are left to the export).
    private static func makeDirectories(_ path: String) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            mkdir(prefix, 0o755)
            prefix += "/"
        }
    }

    /// An FFTW plan, destroyed under the planner lock.
    package final class Plan: @unchecked Sendable {
        package let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
        deinit {
            let p = pointer
            FFTW.state.withLock { _ in fftwf_destroy_plan(p) }
        }
    }

    /// Floats in SIMD-aligned memory from FFTW (what its plans expect), freed with the object.
    package final class Buffer {
        package let pointer: UnsafeMutablePointer<Float>

        package init(floats count: Int) {
            guard let p = fftwf_alloc_real(max(1, count)) else { fatalError("out of memory allocating \(count) floats") }
            pointer = p
        }

        deinit { fftwf_free(pointer) }
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// The same memory seen as FFTW's interleaved complex numbers.
    package var complex: UnsafeMutablePointer<fftwf_complex> { UnsafeMutableRawPointer(self).assumingMemoryBound(to: fftwf_complex.self) }
}
