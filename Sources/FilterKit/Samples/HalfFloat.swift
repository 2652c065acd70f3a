/// IEEE 754 binary16 ↔ binary32 conversions with integer arithmetic.
///
/// Swift's `Float16` conversions call a compiler-rt routine per value when the build targets
/// baseline x86-64 (no F16C), which makes mode-12 I/O CPU-bound. These give the same results
/// (round to nearest, ties to even; NaN stays NaN) several times faster; tests compare them with
/// `Float16` exhaustively on all 65 536 half values and on a dense sweep of floats.
public enum HalfFloat {
    /// The binary16 bit pattern nearest to `value`.
    @inlinable @inline(__always)
    public static func bits(from value: Float) -> UInt16 {
        let f16Overflow: UInt32 = (127 + 16) << 23
        let infinity: UInt32 = 255 << 23
        let denormalMagic = Float(bitPattern: ((127 - 15) + (23 - 10) + 1) << 23)
        var magnitude = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (magnitude & 0x8000_0000) >> 16)
        magnitude &= 0x7FFF_FFFF
        let result: UInt16
        if magnitude >= f16Overflow {
            result = magnitude > infinity ? 0x7E00 : 0x7C00
        } else if magnitude < (113 << 23) {
            // Subnormal or zero half: let float addition do the rounding.
            let shifted = Float(bitPattern: magnitude) + denormalMagic
            result = UInt16(truncatingIfNeeded: shifted.bitPattern &- denormalMagic.bitPattern)
        } else {
            let mantissaOdd = (magnitude >> 13) & 1
            magnitude = magnitude &+ (UInt32(bitPattern: Int32(15 - 127) << 23) &+ 0xFFF) &+ mantissaOdd
            result = UInt16(truncatingIfNeeded: magnitude >> 13)
        }
        return result | sign
    }

    /// The float value of the binary16 bit pattern `bits`.
    @inlinable @inline(__always)
    public static func value(from bits: UInt16) -> Float {
        let magic = Float(bitPattern: 113 << 23)
        let exponentMask: UInt32 = 0x7C00 << 13
        var out = UInt32(bits & 0x7FFF) << 13
        let exponent = out & exponentMask
        out = out &+ ((127 - 15) << 23)
        if exponent == exponentMask {
            out = out &+ ((128 - 16) << 23)  // Inf or NaN
        } else if exponent == 0 {
            out = (Float(bitPattern: out &+ (1 << 23)) - magic).bitPattern  // zero or subnormal
        }
        return Float(bitPattern: out | (UInt32(bits & 0x8000) << 16))
    }
}
