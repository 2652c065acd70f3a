/// How one voxel is stored in a file. Stages compute in `Float`; readers and writers convert.
public enum ElementType: String, CaseIterable, Sendable, CustomStringConvertible {
    case int8
    case uint8
    case int16
    case uint16
    case float16
    case float32
    /// Two 4-bit unsigned values per byte, first voxel in the low nibble (SerialEM/IMOD MRC mode 101).
    case uint4

    /// Bits used by one voxel.
    public var bitsPerVoxel: Int {
        switch self {
        case .uint4: return 4
        case .int8, .uint8: return 8
        case .int16, .uint16, .float16: return 16
        case .float32: return 32
        }
    }

    /// The smallest and largest value the type holds; values outside are clamped when written.
    public var representableRange: ClosedRange<Float> {
        switch self {
        case .int8: return -128...127
        case .uint8: return 0...255
        case .int16: return -32768...32767
        case .uint16: return 0...65535
        case .uint4: return 0...15
        case .float16: return -65504...65504
        case .float32: return -Float.greatestFiniteMagnitude...Float.greatestFiniteMagnitude
        }
    }

    /// Whether values are rounded to integers when written.
    public var isInteger: Bool { self != .float16 && self != .float32 }

    public var description: String { rawValue }
}
