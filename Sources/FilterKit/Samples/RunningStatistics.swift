/// Minimum, maximum, mean and standard deviation accumulated over a stream of values.
///
/// Values are summed in blocks of ``blockSize`` around each block's first value, and blocks are
/// merged with Chan et al.'s pairwise update, so the result stays accurate for billions of
/// voxels with a large mean. Blocks are counted along the stream of values, not along the
/// calls that add them: the result depends only on the values and their order, so a volume
/// written in slabs of any thickness, or assembled from bricks and written in row chunks, gets
/// the same statistics to the last bit.
public struct RunningStatistics: Sendable, Equatable {
    /// Values per block.
    public static let blockSize = 1 << 16

    // Complete blocks, merged.
    @usableFromInline var mergedCount = 0
    @usableFromInline var mergedMinimum: Float = .infinity
    @usableFromInline var mergedMaximum: Float = -.infinity
    @usableFromInline var mergedMean: Double = 0
    /// Sum of squared deviations from the mean.
    @usableFromInline var mergedM2: Double = 0
    // The block being summed.
    @usableFromInline var blockCount = 0
    @usableFromInline var blockShift: Double = 0
    @usableFromInline var blockSum: Double = 0
    @usableFromInline var blockSumSquares: Double = 0
    @usableFromInline var blockMinimum: Float = .infinity
    @usableFromInline var blockMaximum: Float = -.infinity

    public init() {}

    public var count: Int { mergedCount + blockCount }
    public var minimum: Float { Swift.min(mergedMinimum, blockMinimum) }
    public var maximum: Float { Swift.max(mergedMaximum, blockMaximum) }
    public var mean: Double { closed.mergedMean }

    /// Population standard deviation (what MRC's RMS field holds).
    public var standardDeviation: Double {
        let all = closed
        return all.mergedCount > 0 ? (all.mergedM2 / Double(all.mergedCount)).squareRoot() : 0
    }

    /// These statistics with the block being summed merged in.
    @usableFromInline
    var closed: RunningStatistics {
        var copy = self
        copy.closeBlock()
        return copy
    }

    /// Adds `count` values.
    @inlinable
    public mutating func add(_ values: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i < count {
            if blockCount == 0 { blockShift = Double(values[i]) }
            let end = i &+ Swift.min(count &- i, Self.blockSize &- blockCount)
            let shift = blockShift
            var lo = blockMinimum, hi = blockMaximum
            var sum = blockSum, sumSquares = blockSumSquares
            var j = i
            while j < end {
                let v = values[j]
                lo = v < lo ? v : lo
                hi = v > hi ? v : hi
                let d = Double(v) - shift
                sum += d
                sumSquares += d * d
                j &+= 1
            }
            (blockMinimum, blockMaximum, blockSum, blockSumSquares) = (lo, hi, sum, sumSquares)
            blockCount &+= end &- i
            i = end
            if blockCount == Self.blockSize { closeBlock() }
        }
    }

    /// Adds the values of another accumulator (after this one's).
    public mutating func merge(_ other: RunningStatistics) {
        let other = other.closed
        guard other.mergedCount > 0 else { return }
        closeBlock()
        merge(count: other.mergedCount, minimum: other.mergedMinimum, maximum: other.mergedMaximum, mean: other.mergedMean, m2: other.mergedM2)
    }

    /// Merges the block being summed into the complete ones.
    @usableFromInline
    mutating func closeBlock() {
        guard blockCount > 0 else { return }
        let n = Double(blockCount)
        merge(
            count: blockCount, minimum: blockMinimum, maximum: blockMaximum,
            mean: blockShift + blockSum / n, m2: Swift.max(0, blockSumSquares - blockSum * blockSum / n))
        (blockCount, blockSum, blockSumSquares) = (0, 0, 0)
        (blockMinimum, blockMaximum) = (.infinity, -.infinity)
    }

    @usableFromInline
    mutating func merge(count other: Int, minimum lo: Float, maximum hi: Float, mean otherMean: Double, m2 otherM2: Double) {
        let n = Double(mergedCount), m = Double(other)
        let delta = otherMean - mergedMean
        mergedMean += delta * m / (n + m)
        mergedM2 += otherM2 + delta * delta * n * m / (n + m)
        mergedCount += other
        mergedMinimum = Swift.min(mergedMinimum, lo)
        mergedMaximum = Swift.max(mergedMaximum, hi)
    }
}
