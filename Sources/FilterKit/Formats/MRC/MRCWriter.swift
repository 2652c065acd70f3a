#if canImport(Glibc)
import Glibc
#endif

/// Writes a valid MRC2014 file (little-endian, NVERSION 20141) row by row to a file or a pipe.
///
/// The header goes out first. On a seekable output the exact DMIN/DMAX/DMEAN/RMS of the stored
/// values are patched in at the end; on a pipe the header carries MRC2014's "undetermined" values
/// (DMIN 0, DMAX −1, DMEAN −2, RMS −1). Labels, voxel size, origin and a carried extended header
/// come from ``VolumeInfo``, and one label naming the operation is added.
public final class MRCWriter {
    /// The header as written (statistics patched after ``finish()`` on seekable outputs).
    public private(set) var header: MRCHeader
    /// Values that were clamped or NaN when narrowing to an integer or float16 type.
    public private(set) var clampedCount = 0
    /// Statistics of the stored values.
    public internal(set) var statistics = RunningStatistics()
    /// Things the user should know (an extended header that could not be carried…).
    public private(set) var warnings: [String] = []

    let target: OutputTarget
    let info: VolumeInfo
    let elementType: ElementType
    let totalRows: Int
    var rowsWritten = 0
    /// Voxels written by ``placeRectangle(_:section:from:)`` (bricks), instead of rows in order.
    private var placedVoxels = 0
    /// Where the data block starts in the output.
    let dataOffset: Int64
    private var encoded: UnsafeMutableRawBufferPointer?

    /// Writes the header (and extended header) of a volume described by `info`.
    ///
    /// - Parameters:
    ///   - target: the output.
    ///   - info: the volume; `info.elementType` is the stored type (4-bit is refused).
    ///   - operation: text for the added label, such as `convert mode 2`.
    public init(target: OutputTarget, info: VolumeInfo, operation: String) throws {
        guard info.elementType != .uint4 else {
            throw FilterError.unsupported(source: target.name, what: "writing 4-bit (mode 101) data", hint: "choose int8, int16, uint16, float16 or float32")
        }
        self.target = target
        self.info = info
        elementType = info.elementType
        totalRows = info.size.y * info.size.z
        let (header, warnings) = MRCWriter.header(for: info, label: MRCWriter.label(operation))
        self.header = header
        self.warnings = warnings
        try header.bytes.withUnsafeBytes { try target.write($0) }
        var dataOffset = Int64(MRCHeader.byteCount)
        if header.nsymbt > 0, let extended = info.mrc?.extendedHeader {
            try extended.withUnsafeBytes { try target.write($0) }
            dataOffset += Int64(extended.count)
        }
        self.dataOffset = dataOffset
    }

    deinit { encoded?.deallocate() }

    /// Bytes of encoded samples buffered per write at most.
    public static let encodeChunkBytes = 4 << 20

    /// Appends `count` rows of X. The floats are rounded in place to the stored values.
    public func writeRows(_ count: Int, from values: UnsafeMutablePointer<Float>) throws {
        precondition(rowsWritten + count <= totalRows, "more rows than the header declares")
        precondition(placedVoxels == 0, "rows written in order after rectangles were placed")
        let voxels = count * info.size.x
        if elementType == .float32 {
            statistics.add(values, count: voxels)
            try target.write(UnsafeRawBufferPointer(start: values, count: voxels * 4))
        } else {
            let bytesPerVoxel = elementType.bitsPerVoxel / 8
            let step = max(1, MRCWriter.encodeChunkBytes / bytesPerVoxel)
            if encoded == nil { encoded = .allocate(byteCount: min(info.size.voxelCount, step) * bytesPerVoxel, alignment: 64) }
            var done = 0
            while done < voxels {
                let n = min(step, voxels - done, encoded!.count / bytesPerVoxel)
                clampedCount += SampleCodec.encode(
                    elementType, from: values + done, count: n, to: encoded!.baseAddress!, statistics: &statistics)
                try target.write(UnsafeRawBufferPointer(rebasing: encoded![0..<(n * bytesPerVoxel)]))
                done += n
            }
        }
        rowsWritten += count
    }

    /// Completes the file: patches the statistics when the output is seekable, then commits it.
    public func finish() throws {
        if placedVoxels > 0 { try finishPlacing() }
        guard rowsWritten == totalRows else {
            throw FilterError.truncated(
                source: target.name, offset: Int64(rowsWritten),
                expected: "only \(rowsWritten) of \(totalRows) rows were produced")
        }
        if target.isSeekable {
            header.setFloat32(statistics.minimum, at: 76)
            header.setFloat32(statistics.maximum, at: 80)
            header.setFloat32(Float(statistics.mean), at: 84)
            header.setFloat32(Float(statistics.standardDeviation), at: 216)
            try header.bytes[76..<88].withUnsafeBytes { try target.rewrite($0, at: 76) }
            try header.bytes[216..<220].withUnsafeBytes { try target.rewrite($0, at: 216) }
        }
        try target.commit()
    }

    // MARK: Rectangles placed anywhere (bricks)

    /// Whether rectangles can be placed: the output is a file this run creates.
    public var placesRectangles: Bool { target.isRandomAccess }

    /// Encodes the rectangle `rect` of section `z` and writes each of its rows at its offset in
    /// the file (rows as wide as the section in one write). The statistics are computed in
    /// ``finish()`` from the stored values read back in order, so they are the same to the last
    /// bit as when rows are written in order.
    public func placeRectangle(_ rect: PlaneRect, section z: Int, from values: UnsafeMutablePointer<Float>) throws {
        precondition(rowsWritten == 0, "rectangles placed after rows were written in order")
        precondition(rect.x.lowerBound >= 0 && rect.x.upperBound <= info.size.x && rect.y.lowerBound >= 0 && rect.y.upperBound <= info.size.y && z >= 0 && z < info.size.z, "rectangle \(rect) of section \(z) outside the volume")
        guard rect.voxels > 0 else { return }
        let bytesPerVoxel = elementType.bitsPerVoxel / 8
        let stored: UnsafeRawPointer
        if elementType == .float32 {
            stored = UnsafeRawPointer(values)
        } else {
            let needed = rect.voxels * bytesPerVoxel
            if (encoded?.count ?? 0) < needed {
                encoded?.deallocate()
                encoded = .allocate(byteCount: needed, alignment: 64)
            }
            var ignored = RunningStatistics()
            clampedCount += SampleCodec.encode(elementType, from: values, count: rect.voxels, to: encoded!.baseAddress!, statistics: &ignored)
            stored = UnsafeRawPointer(encoded!.baseAddress!)
        }
        let sectionOffset = dataOffset + Int64(z) * Int64(info.size.sectionVoxels) * Int64(bytesPerVoxel)
        try rect.forEachRun(inPlaneOfWidth: info.size.x) { planeOffset, rectOffset, count in
            try target.write(
                UnsafeRawBufferPointer(start: stored + rectOffset * bytesPerVoxel, count: count * bytesPerVoxel),
                at: sectionOffset + Int64(planeOffset) * Int64(bytesPerVoxel))
        }
        placedVoxels += rect.voxels
    }

    /// Checks that every voxel was placed and reads the stored values back in order for the
    /// statistics.
    private func finishPlacing() throws {
        let total = info.size.voxelCount
        guard placedVoxels == total else {
            throw FilterError.truncated(source: target.name, offset: dataOffset, expected: "only \(placedVoxels) of \(total) voxels were produced")
        }
        let (type, bytesPerVoxel) = (elementType, elementType.bitsPerVoxel / 8)
        let chunk = MRCWriter.readBackChunkVoxels
        // Stored values other than float32 are read into their own buffer, then decoded.
        let raw = type == .float32 ? nil : UnsafeMutableRawBufferPointer.allocate(byteCount: min(chunk, total) * bytesPerVoxel, alignment: 64)
        defer { raw?.deallocate() }
        try statistics.addInChunks(total: total, chunk: chunk) { first, count, floats in
            let bytes = UnsafeMutableRawBufferPointer(start: raw?.baseAddress ?? UnsafeMutableRawPointer(floats), count: count * bytesPerVoxel)
            try target.read(into: bytes, at: dataOffset + Int64(first) * Int64(bytesPerVoxel))
            if let raw { SampleCodec.decode(type, bigEndian: false, from: raw.baseAddress!, count: count, to: floats) }
        }
        rowsWritten = totalRows
    }

    /// Voxels read back at a time for the statistics of placed rectangles.
    static let readBackChunkVoxels = 1 << 18

    /// Abandons the output (removes a temporary file).
    public func abort() { target.discard() }

    // MARK: Header

    /// The header for `info`, with "undetermined" statistics.
    static func header(for info: VolumeInfo, label: String) -> (MRCHeader, [String]) {
        var warnings: [String] = []
        var h = MRCHeader()
        let passthrough = info.mrc
        var extended = passthrough?.extendedHeader ?? []
        let extendedType = passthrough?.extendedHeaderType ?? ""
        if let passthrough, !passthrough.isBigEndian {
            h.setBytes(passthrough.extraBytes.prefix(100), at: 96)
        }
        if !extended.isEmpty && (passthrough?.isBigEndian ?? false) {
            warnings.append("the big-endian extended header (\(extended.count) bytes) is not carried into the little-endian output")
            extended = []
        } else if !extended.isEmpty && extendedType.isEmpty {
            warnings.append("the extended header of unknown type (\(extended.count) bytes) is not carried over")
            extended = []
        }
        let size = info.size
        h.setInt32(Int32(size.x), at: 0)
        h.setInt32(Int32(size.y), at: 4)
        h.setInt32(Int32(size.z), at: 8)
        h.setInt32(Int32(MRCMode.mode(for: info.elementType)), at: 12)
        h.setInt32(info.gridStart.x, at: 16)
        h.setInt32(info.gridStart.y, at: 20)
        h.setInt32(info.gridStart.z, at: 24)
        let mz: Int
        let ispg: Int32
        switch info.kind {
        case .image: (mz, ispg) = (1, 0)
        case .imageStack: (mz, ispg) = (1, 0)
        case .volume: (mz, ispg) = (size.z, 1)
        case let .volumeStack(n): (mz, ispg) = (n, 401)
        }
        let sampling = SIMD3<Int32>(Int32(size.x), Int32(size.y), Int32(mz))
        for axis in 0..<3 {
            h.setInt32(sampling[axis], at: 28 + 4 * axis)
            h.setFloat32(Float(Double(info.voxelSize[axis]) * Double(sampling[axis])), at: 40 + 4 * axis)
            h.setFloat32(passthrough?.cellAngles[axis] ?? 90, at: 52 + 4 * axis)
            h.setInt32(Int32(axis + 1), at: 64 + 4 * axis)
            h.setFloat32(info.origin[axis], at: 196 + 4 * axis)
        }
        h.setFloat32(0, at: 76)
        h.setFloat32(-1, at: 80)
        h.setFloat32(-2, at: 84)
        h.setFloat32(-1, at: 216)
        h.setInt32(ispg, at: 88)
        h.setInt32(Int32(extended.count), at: 92)
        h.setBytes(Array((extended.isEmpty ? "    " : (extendedType + "    ").prefix(4)).utf8), at: 104)
        h.setInt32(20141, at: 108)
        if extended.isEmpty { h.setBytes([0, 0, 0, 0], at: 128) }  // IMOD nint/nreal describe the extended header
        // IMOD flags: bit 1 signed bytes; clear 4 (origin now stored as is) and 16 (no 4-bit output).
        var flags = h.hasIMODStamp ? h.imodFlags & ~(1 | 4 | 16) : 0
        if info.elementType == .int8 { flags |= 1 }
        if h.hasIMODStamp || info.elementType == .int8 || info.elementType == .uint8 {
            h.setInt32(MRCHeader.imodStampValue, at: 152)
            h.setInt32(flags, at: 156)
        }
        h.setBytes(Array("MAP ".utf8), at: 208)
        h.setBytes([0x44, 0x44, 0, 0], at: 212)
        var labels = info.labels.filter { !$0.isEmpty }.map { String($0.prefix(80)) }
        if labels.count >= 10 { labels.removeSubrange(1...(labels.count - 9)) }
        labels.append(String(label.prefix(80)))
        h.setInt32(Int32(labels.count), at: 220)
        for (i, text) in labels.enumerated() {
            let bytes = Array(text.utf8.map { (32..<127).contains($0) ? $0 : 63 }.prefix(80))
            h.setBytes(bytes + [UInt8](repeating: 32, count: 80 - bytes.count), at: 224 + 80 * i)
        }
        return (h, warnings)
    }

    /// `stdio-filter <operation>  <local date and time>`, IMOD style.
    static func label(_ operation: String) -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%d-%b-%y  %H:%M:%S", &parts)
        let date = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let text = "stdio-filter \(operation)"
        return String(text.prefix(80 - date.count - 2)) + "  " + date
    }
}
