/// Percentiles of a volume from a histogram of 2²⁰ bins between its minimum and maximum (a second
/// pass after ``RunningStatistics``): within (max − min)/2²⁰ of exact, in 8 MiB.
///
/// `normalize` and `stats` share it, so a statistics file holds the values `normalize` would find.
public struct PercentileHistogram {
    /// Bins used unless told otherwise.
    public static let defaultBins = 1 << 20
    /// Memory the histogram takes with ``defaultBins``.
    public static let defaultBytes = defaultBins * 8

    public let minimum: Float
    public let maximum: Float
    private var counts: [UInt64]
    private let factor: Double

    /// An empty histogram over `minimum ... maximum` (both finite).
    public init(minimum: Float, maximum: Float, bins: Int = defaultBins) {
        self.minimum = minimum
        self.maximum = maximum
        counts = [UInt64](repeating: 0, count: bins)
        let width = Double(maximum - minimum)
        factor = width > 0 ? Double(bins) / width : 0
    }

    /// Counts `count` values.
    public mutating func add(_ values: UnsafePointer<Float>, count: Int) {
        let (lo, factor) = (minimum, factor)
        counts.withUnsafeMutableBufferPointer { h in
            let last = h.count - 1
            var i = 0
            while i < count {
                let b = Int(Double(values[i] - lo) * factor)
                h[min(max(b, 0), last)] &+= 1
                i &+= 1
            }
        }
    }

    /// The value below which `percent` % of the counted values lie: the centre of the first bin
    /// where the running count reaches that fraction.
    public func value(atPercent percent: Double) -> Float {
        let total = Double(counts.reduce(0, &+))
        let lo = Double(minimum), width = Double(maximum) - lo
        let target = percent / 100 * total
        var seen = 0.0
        for (b, n) in counts.enumerated() {
            seen += Double(n)
            if seen >= target && n > 0 { return Float(lo + (Double(b) + 0.5) * width / Double(counts.count)) }
        }
        return Float(lo + width)
    }
}
