/// Minimum, maximum, mean and standard deviation accumulated chunk by chunk.
///
/// Each chunk is summed around its own first value and chunks are merged with Chan et al.'s
/// pairwise update, so the result stays accurate for billions of voxels with a large mean.
public struct RunningStatistics: Sendable, Equatable {
    public private(set) var count: Int = 0
    public private(set) var minimum: Float = .infinity
    public private(set) var maximum: Float = -.infinity
    public private(set) var mean: Double = 0
    /// Sum of squared deviations from the mean.
    private var m2: Double = 0

    public init() {}

    /// Population standard deviation (what MRC's RMS field holds).
    public var standardDeviation: Double { count > 0 ? (m2 / Double(count)).squareRoot() : 0 }

    /// Adds `count` values.
    @inlinable
    public mutating func add(_ values: UnsafePointer<Float>, count: Int) {
        guard count > 0 else { return }
        let shift = Double(values[0])
        var lo = values[0], hi = values[0]
        var sum = 0.0, sumSquares = 0.0
        var i = 0
        while i < count {
            let v = values[i]
            lo = v < lo ? v : lo
            hi = v > hi ? v : hi
            let d = Double(v) - shift
            sum += d
            sumSquares += d * d
            i &+= 1
        }
        let n = Double(count)
        let chunkMean = shift + sum / n
        let chunkM2 = max(0, sumSquares - sum * sum / n)
        merge(count: count, minimum: lo, maximum: hi, mean: chunkMean, m2: chunkM2)
    }

    /// Adds the values of another accumulator.
    public mutating func merge(_ other: RunningStatistics) {
        guard other.count > 0 else { return }
        merge(count: other.count, minimum: other.minimum, maximum: other.maximum, mean: other.mean, m2: other.m2)
    }

    @usableFromInline
    mutating func merge(count other: Int, minimum lo: Float, maximum hi: Float, mean otherMean: Double, m2 otherM2: Double) {
        let n = Double(count), m = Double(other)
        let delta = otherMean - mean
        mean += delta * m / (n + m)
        m2 += otherM2 + delta * delta * n * m / (n + m)
        count += other
        minimum = Swift.min(minimum, lo)
        maximum = Swift.max(maximum, hi)
    }
}
