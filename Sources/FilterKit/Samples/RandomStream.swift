#if canImport(Glibc)
import Glibc
#endif

/// Counter-based random numbers: every draw is a pure function of (seed, stream, index), so a
/// mask or dropout pattern can be recomputed in the backward pass instead of stored, and draws
/// keyed to tile coordinates do not depend on the order work is done in.
public struct RandomStream: Sendable {
    public let seed: UInt64
    public let stream: UInt64

    public init(seed: UInt64, stream: UInt64) {
        self.seed = seed
        self.stream = stream
    }

    /// A stream derived from this one (such as one per layer or per step).
    public func child(_ id: UInt64) -> RandomStream {
        RandomStream(seed: RandomStream.mix(seed ^ RandomStream.mix(stream &+ 0x9E37_79B9_7F4A_7C15)), stream: id)
    }

    /// SplitMix64's finaliser: a bijective avalanche of 64 bits.
    @inlinable @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z &>> 31)
    }

    /// The stream's starting point: SplitMix64's state for index 0.
    @inlinable @inline(__always)
    public var key: UInt64 { RandomStream.mix(seed ^ RandomStream.mix(stream &* 0xD1B5_4A32_D192_ED03)) }

    /// 64 random bits for `index`: SplitMix64's output at position `index` from ``key``.
    @inlinable @inline(__always)
    public func bits(_ index: UInt64) -> UInt64 {
        RandomStream.mix(key &+ index &* 0x9E37_79B9_7F4A_7C15)
    }

    /// Calls `body(i, u)` for every `i` of `range` with a uniform `u` in [0, 1) at 16-bit
    /// resolution, four draws per 64 random bits (for masks and dropout, where a fresh hash per
    /// element would cost more than the arithmetic around it). Draws depend only on `i`.
    @inlinable @inline(__always)
    public func forEachUniform16(_ range: Range<Int>, _ body: (Int, Float) -> Void) {
        let k = key
        var i = range.lowerBound
        while i < range.upperBound {
            let word = RandomStream.mix(k &+ UInt64(i &>> 2) &* 0x9E37_79B9_7F4A_7C15)
            var lane = i & 3
            while lane < 4 && i < range.upperBound {
                body(i, Float((word &>> UInt64(16 &* lane)) & 0xFFFF) * (1.0 / 65_536.0))
                lane &+= 1
                i &+= 1
            }
        }
    }

    /// A uniform value in [0, 1) for `index` (24 random bits).
    @inlinable @inline(__always)
    public func uniform(_ index: UInt64) -> Float { Float(bits(index) &>> 40) * (1.0 / 16_777_216.0) }

    /// Two independent standard normal values for `index` (both outputs of Box–Muller).
    @inlinable
    public func normalPair(_ index: UInt64) -> (Float, Float) {
        let b = bits(index)
        let u1 = (Double(b &>> 32) + 1) / 4_294_967_297.0, u2 = Double(b & 0xFFFF_FFFF) / 4_294_967_296.0
        let r = (-2 * log(u1)).squareRoot(), angle = 2 * Double.pi * u2
        return (Float(r * cos(angle)), Float(r * sin(angle)))
    }

    /// A standard normal value for `index` (Box–Muller on two 32-bit halves).
    @inlinable
    public func normal(_ index: UInt64) -> Float {
        let b = bits(index)
        let u1 = (Double(b &>> 32) + 1) / 4_294_967_297.0, u2 = Double(b & 0xFFFF_FFFF) / 4_294_967_296.0
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}
