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
                destination[i] = Float(Float16(bitPattern: bigEndian ? raw.byteSwapped : raw))
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
    /// and adds the values as stored to `statistics`.
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
        let range = type.representableRange
        var i = 0
        if type == .float16 {
            while i < count {
                var v = source[i]
                if v < range.lowerBound { v = range.lowerBound; clamped &+= 1 }
                if v > range.upperBound { v = range.upperBound; clamped &+= 1 }
                let h = Float16(v)
                source[i] = Float(h)
                destination.storeBytes(of: h.bitPattern, toByteOffset: i &* 2, as: UInt16.self)
                i &+= 1
            }
        } else {
            while i < count {
                var v = source[i]
                if v.isNaN { v = 0; clamped &+= 1 }
                v = v.rounded()
                if v < range.lowerBound { v = range.lowerBound; clamped &+= 1 }
                if v > range.upperBound { v = range.upperBound; clamped &+= 1 }
                source[i] = v
                i &+= 1
            }
            i = 0
            switch type {
            case .int8:
                let d = destination.assumingMemoryBound(to: Int8.self)
                while i < count { d[i] = Int8(source[i]); i &+= 1 }
            case .uint8:
                let d = destination.assumingMemoryBound(to: UInt8.self)
                while i < count { d[i] = UInt8(source[i]); i &+= 1 }
            case .int16:
                while i < count {
                    destination.storeBytes(of: Int16(source[i]), toByteOffset: i &* 2, as: Int16.self)
                    i &+= 1
                }
            case .uint16:
                while i < count {
                    destination.storeBytes(of: UInt16(source[i]), toByteOffset: i &* 2, as: UInt16.self)
                    i &+= 1
                }
            default:
                break
            }
        }
        statistics.add(source, count: count)
        return clamped
    }
}
