/// What an MRC header means: storage type, where the data is, and the geometry in X, Y, Z.
public struct MRCLayout: Sendable, Equatable {
    /// The stored element type (mode 0 resolved to signed or unsigned bytes).
    public var elementType: ElementType
    /// Columns, rows and sections as stored (NX, NY, NZ).
    public var storedSize: Size3
    /// Spatial axis (0 = X, 1 = Y, 2 = Z) of the columns, rows and sections (MAPC, MAPR, MAPS − 1).
    public var axisOfStored: SIMD3<Int>
    /// The volume's size along X, Y, Z.
    public var size: Size3
    /// Bytes of one stored row (4-bit rows are padded to whole bytes).
    public var rowBytes: Int
    /// Bytes of the extended header as declared (NSYMBT).
    public var declaredExtendedHeaderBytes: Int
    /// Bytes of the data block.
    public var dataBytes: Int64
    /// Whether storage is X, Y, Z (MAPC, MAPR, MAPS = 1, 2, 3), so sections stream as Z slabs.
    public var isXYZ: Bool { axisOfStored == SIMD3(0, 1, 2) }
    /// How the signedness of mode-0 bytes was decided, for `info`.
    public var mode0Rule: String?

    /// Interprets `header`; throws for modes and axis orders that cannot be read.
    ///
    /// - Parameter source: the name used in error messages.
    public init(header h: MRCHeader, source: String) throws {
        switch h.mode {
        case 0:
            let (signed, rule) = MRCLayout.mode0IsSigned(h)
            elementType = signed ? .int8 : .uint8
            mode0Rule = rule
        case let mode where MRCMode.type(of: mode) != nil:
            elementType = MRCMode.type(of: mode)!
        case 3, 4:
            throw FilterError.unsupported(
                source: source, what: "MRC mode \(h.mode) (complex \(h.mode == 3 ? "int16" : "float32")) is a Fourier transform, not a real-space volume",
                hint: "this tool reads modes \(MRCMode.readableList)")
        case 16:
            throw FilterError.unsupported(
                source: source, what: "MRC mode 16 (RGB colour) is not a density map",
                hint: "this tool reads modes \(MRCMode.readableList)")
        default:
            throw FilterError.badHeader(
                source: source, field: "MODE", offset: 12, found: "\(h.mode)", expected: "one of \(MRCMode.readableCommaList)")
        }
        storedSize = Size3(x: h.nx, y: h.ny, z: h.nz)
        let map = h.axisMap
        let mapIsPermutation = Set([map.x, map.y, map.z]) == Set([1, 2, 3])
        if mapIsPermutation {
            axisOfStored = SIMD3(Int(map.x) - 1, Int(map.y) - 1, Int(map.z) - 1)
        } else if map == .zero {
            axisOfStored = SIMD3(0, 1, 2)  // some writers leave MAPC/R/S zero; IMOD reads those as X, Y, Z
        } else {
            throw FilterError.badHeader(
                source: source, field: "MAPC/MAPR/MAPS", offset: 64, found: "\(map.x),\(map.y),\(map.z)",
                expected: "a permutation of 1,2,3")
        }
        var spatial = [0, 0, 0]
        spatial[axisOfStored.x] = storedSize.x
        spatial[axisOfStored.y] = storedSize.y
        spatial[axisOfStored.z] = storedSize.z
        size = Size3(x: spatial[0], y: spatial[1], z: spatial[2])
        guard h.nsymbt >= 0 else {
            throw FilterError.badHeader(
                source: source, field: "NSYMBT", offset: 92, found: "\(h.nsymbt)", expected: "0 or more bytes")
        }
        declaredExtendedHeaderBytes = h.nsymbt
        rowBytes = SampleCodec.rowBytes(elementType, voxels: storedSize.x)
        let (section, sectionOverflow) = Int64(rowBytes).multipliedReportingOverflow(by: Int64(storedSize.y))
        let (total, totalOverflow) = section.multipliedReportingOverflow(by: Int64(storedSize.z))
        guard !sectionOverflow, !totalOverflow, total <= Int64(1) << 60 else {
            throw FilterError.badHeader(
                source: source, field: "NX/NY/NZ", offset: 0, found: "\(h.nx) × \(h.ny) × \(h.nz)",
                expected: "a data block of at most 2⁶⁰ bytes")
        }
        dataBytes = total
    }

    /// Bytes of one stored section.
    public var sectionBytes: Int { rowBytes * storedSize.y }

    /// Voxel size in Å along X, Y, Z: CELLA / MX… per axis, 0 where either is 0 or not finite.
    public static func voxelSize(_ h: MRCHeader) -> SIMD3<Float> {
        let cell = h.cellLengths, m = h.sampling
        func axis(_ c: Float, _ n: Int32) -> Float {
            guard n > 0, c.isFinite, c > 0 else { return 0 }
            return c / Float(n)
        }
        return SIMD3(axis(cell.x, m.x), axis(cell.y, m.y), axis(cell.z, m.z))
    }

    /// IMOD's rule for mode 0: with the IMOD stamp, flag bit 1 says signed; MRC2014 writers
    /// (NVERSION ≥ 20140) mean signed; otherwise the header's DMIN/DMAX decide, unsigned if unclear.
    static func mode0IsSigned(_ h: MRCHeader) -> (Bool, String) {
        if h.hasIMODStamp {
            let signed = h.imodFlags & 1 != 0
            return (signed, "IMOD stamp with flag bit 1 \(signed ? "set" : "clear")")
        }
        if h.nversion >= 20140 && h.nversion < 20200 { return (true, "MRC2014 (NVERSION \(h.nversion))") }
        let lo = h.dmin, hi = h.dmax
        if lo < 0 && hi < 128 { return (true, "DMIN < 0 and DMAX < 128") }
        if lo >= 0 && hi >= 128 { return (false, "DMIN ≥ 0 and DMAX ≥ 128") }
        if lo < 0 && hi >= 128 {
            let signedMiss = max(0, -128 - lo) + max(0, hi - 127)
            let unsignedMiss = max(0, -lo) + max(0, hi - 255)
            return (signedMiss < unsignedMiss, "DMIN/DMAX closer to the \(signedMiss < unsignedMiss ? "signed" : "unsigned") range")
        }
        return (false, "IMOD default for old headers")
    }

    /// What the sections are, from ISPG, MZ, the extended header type and the file name.
    static func kind(_ h: MRCHeader, extendedType: String, name: String) -> VolumeKind {
        let mz = Int(h.sampling.z)
        if (401...630).contains(h.ispg), mz > 0, h.nz % mz == 0, h.nz > mz { return .volumeStack(sectionsPerVolume: mz) }
        if h.nz == 1 { return .image }
        if h.ispg == 0 {
            if mz == 1 { return .imageStack }
            if ["SERI", "AGAR", "FEI1", "FEI2"].contains(extendedType) { return .imageStack }
            let lower = name.lowercased()
            for suffix in [".mrcs", ".st", ".ali", ".preali", ".mrcs.gz", ".st.gz"] where lower.hasSuffix(suffix) {
                return .imageStack
            }
        }
        return .volume
    }

    /// The extended header's type: EXTTYP when it is a known code, else inferred as IMOD and
    /// ChimeraX would (SERI/AGAR from IMOD's nint/nreal, CCP4 for 80-byte text records), else "".
    static func extendedHeaderType(_ h: MRCHeader, bytes: [UInt8]) -> String {
        let declared = h.extendedHeaderType.trimmingCharactersInSet([" "])
        if ["CCP4", "MRCO", "SERI", "AGAR", "FEI1", "FEI2", "HDF5"].contains(declared) { return declared }
        guard !bytes.isEmpty else { return "" }
        if h.imodNint > 0 || h.imodNreal > 0 {
            let sizes = [(1, 2), (2, 6), (4, 4), (8, 2), (16, 2), (32, 4), (64, 2), (128, 4), (256, 2), (512, 4), (1024, 2)]
            let seriBytes = sizes.reduce(0) { $0 + (h.imodNreal & $1.0 != 0 ? $1.1 : 0) }
            return seriBytes == h.imodNint ? "SERI" : "AGAR"
        }
        if bytes.count % 80 == 0, bytes.allSatisfy({ (32..<127).contains($0) || $0 == 0 }) { return "CCP4" }
        return ""
    }
}
