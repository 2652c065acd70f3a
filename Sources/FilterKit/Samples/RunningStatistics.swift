/// Minimum, maximum, mean and standard deviation accumulated over a stream of values.
///
/// Values are summed in blocks of ``blockSize`` around each block's first value, and blocks are
/// merged with Chan et al.'s pairwise update, so the result stays accurate for billions of
/// voxels with a large mean. Within a block, value `k` (counted from the block's start) goes to
/// lane `k mod 8` of eight running sums, which a SIMD loop updates together (one serial chain
/// of additions ran at 4 cycles per value). Blocks and lanes are counted along the stream of
/// values, not along the calls that add them: the result depends only on the values and their
/// order, so a volume written in slabs of any thickness, or assembled from bricks and written
/// in row chunks, gets the same statistics to the last bit.
public struct RunningStatistics: Sendable, Equatable {
    /// Values per block.
    public static let blockSize = 1 << 16
    @usableFromInline typealias Lanes = SIMD8<Double>

    // Complete blocks, merged.
    @usableFromInline var mergedCount = 0
    @usableFromInline var mergedMinimum: Float = .infinity
    @usableFromInline var mergedMaximum: Float = -.infinity
    @usableFromInline var mergedMean: Double = 0
    /// Sum of squared deviations from the mean.
    @usableFromInline var mergedM2: Double = 0
    // The block being summed, by lane.
    @usableFromInline var blockCount = 0
    @usableFromInline var blockShift: Double = 0
    @usableFromInline var blockSum = Lanes()
    @usableFromInline var blockSumSquares = Lanes()
    @usableFromInline var blockMinimum = SIMD8<Float>(repeating: .infinity)
    @usableFromInline var blockMaximum = SIMD8<Float>(repeating: -.infinity)

    public init() {}

    public var count: Int { mergedCount + blockCount }
    public var minimum: Float { closed.mergedMinimum }
    public var maximum: Float { closed.mergedMaximum }
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
            // One value at a time up to a lane boundary of the block, eight at a time, the rest.
            while i < end && blockCount & 7 != 0 {
                addToLane(values[i])
                i &+= 1
            }
            let shift = Lanes(repeating: blockShift)
            var lo = blockMinimum, hi = blockMaximum
            var sum = blockSum, sumSquares = blockSumSquares
            let raw = UnsafeRawPointer(values)
            var j = i
            while end &- j >= 8 {
                let v = raw.loadUnaligned(fromByteOffset: j &* 4, as: SIMD8<Float>.self)
                lo.replace(with: v, where: v .< lo)
                hi.replace(with: v, where: v .> hi)
                let d = Lanes(
                    Double(v[0]), Double(v[1]), Double(v[2]), Double(v[3]), Double(v[4]), Double(v[5]), Double(v[6]), Double(v[7])) - shift
                sum += d
                sumSquares += d * d
                j &+= 8
            }
            (blockMinimum, blockMaximum, blockSum, blockSumSquares) = (lo, hi, sum, sumSquares)
            blockCount &+= j &- i
            i = j
            while i < end {
                addToLane(values[i])
                i &+= 1
            }
            if blockCount == Self.blockSize { closeBlock() }
        }
    }

    /// Adds one value to lane `blockCount mod 8` of the block being summed.
    @inlinable
    mutating func addToLane(_ v: Float) {
        let lane = blockCount & 7
        if v < blockMinimum[lane] { blockMinimum[lane] = v }
        if v > blockMaximum[lane] { blockMaximum[lane] = v }
        let d = Double(v) - blockShift
        blockSum[lane] += d
        blockSumSquares[lane] += d * d
        blockCount &+= 1
    }

    /// Adds the values of another accumulator (after this one's).
    public mutating func merge(_ other: RunningStatistics) {
        let other = other.closed
        guard other.mergedCount > 0 else { return }
        closeBlock()
        merge(count: other.mergedCount, minimum: other.mergedMinimum, maximum: other.mergedMaximum, mean: other.mergedMean, m2: other.mergedM2)
    }

    /// Merges the block being summed into the complete ones (its lanes added in a fixed order).
    @usableFromInline
    mutating func closeBlock() {
        guard blockCount > 0 else { return }
        func total(_ l: Lanes) -> Double { ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])) }
        let n = Double(blockCount)
        let sum = total(blockSum), sumSquares = total(blockSumSquares)
        merge(
            count: blockCount, minimum: blockMinimum.min(), maximum: blockMaximum.max(),
            mean: blockShift + sum / n, m2: Swift.max(0, sumSquares - sum * sum / n))
        (blockCount, blockSum, blockSumSquares) = (0, Lanes(), Lanes())
        (blockMinimum, blockMaximum) = (SIMD8(repeating: .infinity), SIMD8(repeating: -.infinity))
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

extension RunningStatistics {
    /// Adds `total` values that `read` delivers in order, at most `chunk` at a time, through one
    /// buffer: `read(first, count, buffer)` fills `buffer` with values `first..<first + count`.
    /// The read-back of a written file and the statistics beside an in-kernel copy share it.
    public mutating func addInChunks(
        total: Int, chunk: Int, _ read: (_ first: Int, _ count: Int, _ buffer: UnsafeMutablePointer<Float>) throws -> Void
    ) rethrows {
        precondition(chunk > 0, "a chunk of no values")
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: Swift.min(chunk, Swift.max(total, 1)))
        defer { buffer.deallocate() }
        var done = 0
        while done < total {
            let count = Swift.min(chunk, total &- done)
            try read(done, count, buffer)
            add(buffer, count: count)
            done &+= count
        }
    }
}
