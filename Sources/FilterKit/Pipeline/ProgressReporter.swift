#if canImport(Glibc)
import Glibc
#endif

/// Progress on stderr: a redrawn bar when stderr is a terminal, otherwise a plain line every
/// few seconds once a run has lasted long enough to need one. Silent when disabled (`--quiet`).
public final class ProgressReporter {
    private let label: String
    public let total: Int
    private let unit: String
    private let enabled: Bool
    private let isTerminal: Bool
    private let start: Double
    private var lastPrint: Double
    private var printedAnything = false
    /// The first update's time and amount: the rate for the ETA is measured from there, so
    /// that work done before any unit completes (a whole-volume stage's global pass before its
    /// first output section) does not count as the pace of the rest.
    private var first: (time: Double, done: Int)?

    /// - Parameters:
    ///   - label: what is being done, such as `gaussian → out.mrc`.
    ///   - total: the amount of work, in `unit`s.
    public init(label: String, total: Int, unit: String = "sections", enabled: Bool) {
        self.label = label
        self.total = max(1, total)
        self.unit = unit
        self.enabled = enabled
        isTerminal = isatty(2) != 0
        start = ProgressReporter.now()
        lastPrint = start
    }

    public static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Reports that `done` units are complete.
    public func update(_ done: Int) {
        guard enabled else { return }
        let t = ProgressReporter.now()
        let elapsed = t - start
        if first == nil { first = (t, done) }
        if isTerminal {
            guard t - lastPrint >= 0.2 || done >= total else { return }
            let fraction = Double(done) / Double(total)
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            write("\r\(label) [\(bar)] \(Int(fraction * 100))% \(done)/\(total) \(unit) \(eta(done, t))\u{1B}[K")
        } else {
            // Lines only for runs long enough to wonder about: the first after 5 s, then every 10 s.
            guard elapsed >= 5, t - lastPrint >= (printedAnything ? 10 : 5) else { return }
            write("\(label): \(Int(Double(done) * 100 / Double(total)))% (\(done)/\(total) \(unit)) \(eta(done, t))\n")
        }
        lastPrint = t
        printedAnything = true
    }

    /// Ends the bar (a final line when anything was printed).
    public func finish() {
        guard enabled, printedAnything else { return }
        let elapsed = ProgressReporter.now() - start
        write(isTerminal ? "\r\(label): done in \(format(elapsed))\u{1B}[K\n" : "\(label): done in \(format(elapsed))\n")
    }

    private func eta(_ done: Int, _ now: Double) -> String {
        guard let first, done > first.done, done < total else { return "" }
        return "ETA \(format((now - first.time) * Double(total - done) / Double(done - first.done)))"
    }

    private func format(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : String(format1: seconds) + "s"
    }

    private func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }
}

extension String {
    /// One decimal place, Foundation-free.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }

    /// At most three decimals, Foundation-free (losses in logs and reports).
    public init(format3 v: Float) {
        guard v.isFinite else { self = "\(v)"; return }
        let scaled = (Double(v) * 1000).rounded() / 1000
        self = "\(scaled)"
    }
}
