/// What a volume is, known before any voxel is read: shape, storage type, geometry, metadata.
///
/// Readers produce it from the file header; stages map it to the info of their output; writers
/// turn it into a header. Voxel data always flows as `Float` in X-fastest, then Y, then Z order.
public struct VolumeInfo: Sendable, Equatable {
    /// Voxels along X, Y, Z.
    public var size: Size3
    /// How the voxels are (or will be) stored.
    public var elementType: ElementType
    /// Voxel spacing in Å along X, Y, Z; a component of 0 means unknown.
    public var voxelSize: SIMD3<Float>
    /// Real-space position of the first voxel in Å (MRC ORIGIN), X, Y, Z.
    public var origin: SIMD3<Float>
    /// Index of the first voxel in the unit cell (MRC NXSTART, NYSTART, NZSTART) along X, Y, Z.
    public var gridStart: SIMD3<Int32>
    /// What the sections mean: one image, a stack of images, one volume, a stack of volumes.
    public var kind: VolumeKind
    /// Free-text history, oldest first (MRC labels, at most 80 characters each).
    public var labels: [String]
    /// Format-specific data carried from input to output when the geometry allows.
    public var mrc: MRCPassthrough?

    public init(
        size: Size3, elementType: ElementType, voxelSize: SIMD3<Float> = .zero,
        origin: SIMD3<Float> = .zero, gridStart: SIMD3<Int32> = .zero, kind: VolumeKind? = nil,
        labels: [String] = [], mrc: MRCPassthrough? = nil
    ) {
        self.size = size
        self.elementType = elementType
        self.voxelSize = voxelSize
        self.origin = origin
        self.gridStart = gridStart
        self.kind = kind ?? (size.z == 1 ? .image : .volume)
        self.labels = labels
        self.mrc = mrc
    }

    /// Bytes one section occupies as `Float`.
    public var floatSectionBytes: Int { size.sectionVoxels &* MemoryLayout<Float>.size }
}

/// What the Z sections of a file represent. It decides MRC's ISPG and MZ on output.
public enum VolumeKind: Sendable, Equatable, CustomStringConvertible {
    /// A single 2-D image (NZ = 1).
    case image
    /// Independent 2-D images: a tilt series, a particle or movie stack.
    case imageStack
    /// One 3-D volume such as a tomogram.
    case volume
    /// Several volumes of `sectionsPerVolume` sections each, one after another.
    case volumeStack(sectionsPerVolume: Int)

    public var description: String {
        switch self {
        case .image: return "image"
        case .imageStack: return "image stack"
        case .volume: return "volume"
        case let .volumeStack(n): return "volume stack (\(n) sections per volume)"
        }
    }
}

/// MRC header content kept verbatim from an input so that an output can carry it on.
public struct MRCPassthrough: Sendable, Equatable {
    /// Extended header bytes (NSYMBT of them), in the input's byte order.
    public var extendedHeader: [UInt8]
    /// The extended header's type code (EXTTYP), such as `SERI`, `FEI1`, `CCP4`, or inferred for old files.
    public var extendedHeaderType: String
    /// Whether the input was big-endian. The writer emits little-endian files and so keeps
    /// ``extendedHeader`` and ``extraBytes`` only when this is false.
    public var isBigEndian: Bool
    /// Header bytes 96..<196 (IMOD's creatid, nint/nreal, tilt angles…) in the input's byte order.
    public var extraBytes: [UInt8]
    /// Cell angles α, β, γ in degrees.
    public var cellAngles: SIMD3<Float>

    public init(
        extendedHeader: [UInt8] = [], extendedHeaderType: String = "", isBigEndian: Bool = false,
        extraBytes: [UInt8] = [], cellAngles: SIMD3<Float> = SIMD3(90, 90, 90)
    ) {
        self.extendedHeader = extendedHeader
        self.extendedHeaderType = extendedHeaderType
        self.isBigEndian = isBigEndian
        self.extraBytes = extraBytes
        self.cellAngles = cellAngles
    }
}
