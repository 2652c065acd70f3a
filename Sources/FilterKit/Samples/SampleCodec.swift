/// Conversion between stored samples and the `Float` values stages compute with.
public enum SampleCodec {
    /// Bytes that `count` voxels occupy in one row of `type` (4-bit rows are padded to whole bytes).
    @inlinable
    public static func rowBytes(_ type: ElementType, voxels count: Int) -> Int {
        type == .uint4 ? (count &+ 1) / 2 : count &* (type.bitsPerVoxel / 8)
    }

    /// Decodes one row (or several whole rows for byte-aligned types) of stored samples to `Float`.
    ///
    /// - Parameters:
    ///   - type: the stored type.
    ///   - bigEndian: whether multi-byte samples are big-endian.
    ///   - source: the stored bytes.
    ///   - count: voxels to decode; for ``ElementType/uint4`` exactly one row.
    ///   - destination: room for `count` floats.
    @inlinable
    public static func decode(
        _ type: ElementType, bigEndian: Bool, from source: UnsafeRawPointer, count: Int,
        to destination: UnsafeMutablePointer<Float>
    ) {
        var i = 0
        switch type {
        case .int8:
            let s = source.assumingMemoryBound(to: Int8.self)
            while i < count { destination[i] = Float(s[i]); i &+= 1 }
        case .uint8:
            let s = source.assumingMemoryBound(to: UInt8.self)
            while i < count { destination[i] = Float(s[i]); i &+= 1 }
        case .int16:
            while i < count {
                let raw = source.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)
                destination[i] = Float(Int16(bitPattern: bigEndian ? raw.byteSwapped : raw))
                i &+= 1
            }
        case .uint16:
            while i < count {
                let raw = source.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)
                destination[i] = Float(bigEndian ? raw.byteSwapped : raw)
                i &+= 1
            }
        case .float16:
            while i < count {
                let raw = source.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)
                destination[i] = HalfFloat.value(from: bigEndian ? raw.byteSwapped : raw)
                i &+= 1
            }
        case .float32:
            if bigEndian {
                while i < count {
                    let raw = source.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self)
                    destination[i] = Float(bitPattern: raw.byteSwapped)
                    i &+= 1
                }
            } else {
                UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count &* 4)
            }
        case .uint4:
            let s = source.assumingMemoryBound(to: UInt8.self)
            while i < count {
                let byte = s[i &>> 1]
                destination[i] = Float((i & 1) == 0 ? byte & 0x0F : byte &>> 4)
                i &+= 1
            }
        }
    }

    /// Encodes floats as little-endian samples of `type`, rounding and clamping for integer types,
    /// and adds the values as stored to `statistics`. `source` is rounded in place to the stored values.
    ///
    /// - Returns: how many values were clamped (out of range, or NaN written as 0 for integers).
    /// - Precondition: `type` is not ``ElementType/uint4`` (no writer emits 4-bit data).
    @inlinable
    @discardableResult
    public static func encode(
        _ type: ElementType, from source: UnsafeMutablePointer<Float>, count: Int,
        to destination: UnsafeMutableRawPointer, statistics: inout RunningStatistics
    ) -> Int {
        precondition(type != .uint4, "4-bit output is not supported")
        var clamped = 0
        if type == .float32 {
            destination.copyMemory(from: source, byteCount: count &* 4)
            statistics.add(source, count: count)
            return 0
        }
        // Round/clamp in place so the statistics describe the stored values, then narrow.
        switch type {
        case .float16:
            let range = type.representableRange
            var i = 0
            while i < count {
                var v = source[i]
                if v < range.lowerBound { v = range.lowerBound; clamped &+= 1 }
                if v > range.upperBound { v = range.upperBound; clamped &+= 1 }
                let h = HalfFloat.bits(from: v)
                source[i] = HalfFloat.value(from: h)
                destination.storeBytes(of: h, toByteOffset: i &* 2, as: UInt16.self)
                i &+= 1
            }
        case .int8: clamped = encodeIntegers(source, count: count, to: destination, as: Int8.self)
        case .uint8: clamped = encodeIntegers(source, count: count, to: destination, as: UInt8.self)
        case .int16: clamped = encodeIntegers(source, count: count, to: destination, as: Int16.self)
        case .uint16: clamped = encodeIntegers(source, count: count, to: destination, as: UInt16.self)
        case .float32, .uint4: break
        }
        statistics.add(source, count: count)
        return clamped
    }

    /// Rounds half away from zero, clamps to `T`'s range (NaN → 0) and stores little-endian `T`s.
    /// - Returns: how many values were clamped.
    @inlinable
    static func encodeIntegers<T: FixedWidthInteger>(
        _ source: UnsafeMutablePointer<Float>, count: Int, to destination: UnsafeMutableRawPointer, as: T.Type
    ) -> Int {
        let lo = Float(T.min), hi = Float(T.max)
        var clamped = 0
        var i = 0
        while i < count {
            // Branch-free: random signs and rare clamps must not cost a misprediction per voxel.
            let x = source[i]
            let isNaN = x != x
            let outside = x < lo || x > hi
            clamped &+= (isNaN || outside) ? 1 : 0
            var v = isNaN ? 0 : x
            v = v < lo ? lo : v
            v = v > hi ? hi : v
            // v is within ±65535 here, so the conversion cannot trap.
            let r = Int32(v + Float(signOf: v, magnitudeOf: 0.5))
            let stored = T(truncatingIfNeeded: r)
            source[i] = Float(r)
            destination.storeBytes(of: stored.littleEndian, toByteOffset: i &* MemoryLayout<T>.stride, as: T.self)
            i &+= 1
        }
        return clamped
    }
}
