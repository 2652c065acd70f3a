/// Reads an MRC/CCP4 map section by section from a file or a pipe, converting samples to `Float`.
///
/// Handles every mode a real-space map uses (0 with IMOD's signedness rule, 1, 2, 6, 12, 101),
/// either byte order, pre-2000 headers, extended headers (kept as bytes) and NSYMBT values that run
/// past the end of the file (ignored, as ChimeraX does). Maps stored in an axis order other than
/// X, Y, Z are loaded whole (within the memory budget) and served in X, Y, Z order.
public final class MRCReader: VolumeReader {
    public let header: MRCHeader
    public let layout: MRCLayout
    public let info: VolumeInfo
    public var sourceName: String { source.name }
    public private(set) var warnings: [String] = []
    public var supportsRandomAccess: Bool { source.isSeekable || wholeMap != nil || pendingData != nil }

    private let source: InputSource
    /// Byte offset of the data block.
    private let dataOffset: Int64
    /// Next stored row for sequential sources.
    private var nextRow = 0
    /// Raw bytes for non-float32 decoding, reused across calls.
    private var scratch: UnsafeMutableRawBufferPointer?
    /// Data bytes already read from a pipe while looking for an extended header that was not there.
    private var pendingData: [UInt8]?
    /// The whole map in X, Y, Z order, for files stored in another axis order.
    private var wholeMap: UnsafeMutableBufferPointer<Float>?

    /// Reads the header (and extended header) of `source`.
    ///
    /// - Parameters:
    ///   - memoryBudget: the most this reader may hold at once; only maps stored in a non-X,Y,Z
    ///     axis order need more than one request's worth.
    ///   - requireData: whether a file too short for its data block is an error (the default), or
    ///     only a warning (for `info`, which reads the header alone).
    public init(source: InputSource, memoryBudget: Int = 512 << 20, requireData: Bool = true) throws {
        self.source = source
        let name = source.name
        if !source.isSeekable, let program = InputSource.decompressor(forMagic: try source.peek(6)) {
            throw FilterError.unsupported(
                source: name, what: "\(program)-compressed data on a pipe",
                hint: "give the file path (it is decompressed on the fly) or pipe it through `\(program) -dc`")
        }
        var headerBytes = [UInt8](repeating: 0, count: MRCHeader.byteCount)
        let got = try headerBytes.withUnsafeMutableBytes { try source.read(into: $0) }
        if got == 0 {
            throw FilterError.truncated(source: name, offset: 0, expected: "empty input, expected a 1024-byte MRC header")
        }
        if got < MRCHeader.byteCount {
            throw FilterError.truncated(source: name, offset: Int64(got), expected: "MRC header needs 1024 bytes")
        }
        header = try MRCHeader(bytes: headerBytes, source: name)
        layout = try MRCLayout(header: header, source: name)

        // Extended header, and the ChimeraX rule for an NSYMBT that the file cannot hold.
        var extended = [UInt8]()
        let nsymbt = layout.declaredExtendedHeaderBytes
        let headerEnd = Int64(MRCHeader.byteCount)
        if let size = source.fileSize {
            if headerEnd + Int64(nsymbt) + layout.dataBytes <= size {
                extended = [UInt8](repeating: 0, count: nsymbt)
                _ = try extended.withUnsafeMutableBytes { try source.read(into: $0) }
                dataOffset = headerEnd + Int64(nsymbt)
            } else if nsymbt > 0, headerEnd + layout.dataBytes <= size {
                warnings.append("NSYMBT = \(nsymbt) runs past the end of the file; extended header ignored")
                dataOffset = headerEnd
            } else {
                dataOffset = headerEnd + Int64(nsymbt)
                let error = MRCReader.truncation(name: name, layout: layout, dataOffset: dataOffset, available: size - dataOffset)
                if requireData { throw error }
                warnings.append("\(error)")
                let available = max(0, min(Int64(nsymbt), size - headerEnd))
                extended = [UInt8](repeating: 0, count: Int(available))
                _ = try extended.withUnsafeMutableBytes { try source.read(into: $0) }
            }
        } else {
            dataOffset = headerEnd + Int64(nsymbt)
            if nsymbt > memoryBudget {
                throw FilterError.memoryBudget(what: "the \(nsymbt)-byte extended header (NSYMBT) of \(name)", needed: nsymbt, budget: memoryBudget)
            }
            extended = [UInt8](repeating: 0, count: nsymbt)
            let n = try extended.withUnsafeMutableBytes { try source.read(into: $0) }
            if n < nsymbt {
                if Int64(n) >= layout.dataBytes {
                    warnings.append("NSYMBT = \(nsymbt) runs past the end of the input; extended header ignored")
                    pendingData = Array(extended[0..<Int(layout.dataBytes)])
                    extended = []
                } else {
                    throw FilterError.truncated(
                        source: name, offset: headerEnd + Int64(n),
                        expected: "extended header declares \(nsymbt) bytes (NSYMBT) but only \(n) follow the header")
                }
            }
        }

        let described = MRCReader.describe(header: header, layout: layout, headerBytes: headerBytes, extendedHeader: extended, name: name)
        info = described.info
        warnings += described.warnings

        if !layout.isXYZ && requireData { try loadPermutedMap(memoryBudget: memoryBudget) }
    }

    /// What a header and its extended header say about the volume: its geometry, kind and the
    /// MRC data carried to the output, and the warnings a reader shows (the parsing half of
    /// ``init(source:memoryBudget:requireData:)``, without reading any data).
    public static func describe(
        header: MRCHeader, layout: MRCLayout, headerBytes: [UInt8], extendedHeader extended: [UInt8], name: String
    ) -> (info: VolumeInfo, warnings: [String]) {
        var warnings: [String] = []
        let extendedType = MRCLayout.extendedHeaderType(header, bytes: extended)
        if !extended.isEmpty && extendedType.isEmpty {
            warnings.append("extended header type '\(header.extendedHeaderType)' not recognised; it is kept as bytes only")
        }
        var gridStart = SIMD3<Int32>.zero
        let start = header.nStart
        gridStart[layout.axisOfStored.x] = start.x
        gridStart[layout.axisOfStored.y] = start.y
        gridStart[layout.axisOfStored.z] = start.z
        var origin = header.rawOrigin
        if header.hasIMODStamp && header.imodFlags & 4 != 0 { origin = -origin }
        if !(origin.x.isFinite && origin.y.isFinite && origin.z.isFinite) { origin = .zero }
        let info = VolumeInfo(
            size: layout.size, elementType: layout.elementType, voxelSize: MRCLayout.voxelSize(header),
            origin: origin, gridStart: gridStart,
            kind: MRCLayout.kind(header, extendedType: extendedType, name: name),
            labels: header.labels.filter { !$0.isEmpty },
            mrc: MRCPassthrough(
                extendedHeader: extended, extendedHeaderType: extendedType, isBigEndian: header.isBigEndian,
                extraBytes: Array(headerBytes[96..<196]), cellAngles: header.cellAngles))
        return (info, warnings)
    }

    deinit {
        scratch?.deallocate()
        wholeMap?.deallocate()
    }

    /// Where the stored samples lie, when they can be copied as they are: a little-endian file
    /// in X, Y, Z order (not a pipe, not a map held in memory).
    public var storedSamples: (source: InputSource, offset: Int64, bytes: Int64)? {
        guard wholeMap == nil, pendingData == nil, layout.isXYZ, !header.isBigEndian, source.fileDescriptor != nil else { return nil }
        return (source, dataOffset, layout.dataBytes)
    }

    public func readRows(from firstRow: Int, count: Int, into destination: UnsafeMutablePointer<Float>) throws {
        let nx = info.size.x
        precondition(firstRow >= 0 && count >= 0 && firstRow + count <= info.size.y * info.size.z, "rows out of range")
        if let wholeMap {
            destination.update(from: wholeMap.baseAddress! + firstRow * nx, count: count * nx)
            return
        }
        try readStoredRows(from: firstRow, count: count, into: destination)
    }

    /// A brick's rectangle of a section: one `pread` of each row's columns (decoded as
    /// ``readRows(from:count:into:)`` decodes), so a brick reads about its own bytes rather
    /// than whole rows. Maps held in memory, pipes and 4-bit data go through whole rows.
    public func readRectangle(_ rect: PlaneRect, section z: Int, into destination: UnsafeMutablePointer<Float>) throws {
        let type = layout.elementType
        guard wholeMap == nil, pendingData == nil, source.isSeekable, type != .uint4, rect.width < info.size.x, rect.voxels > 0 else {
            return try readRectangleByRows(rect, section: z, into: destination)
        }
        precondition(rect.x.lowerBound >= 0 && rect.x.upperBound <= info.size.x && rect.y.lowerBound >= 0 && rect.y.upperBound <= info.size.y && z >= 0 && z < info.size.z, "rectangle \(rect) of section \(z) outside the volume")
        let sampleBytes = type.bitsPerVoxel / 8
        let bytes = rect.width &* sampleBytes
        let decode = type != .float32 || header.isBigEndian
        if decode && (scratch?.count ?? 0) < bytes {
            scratch?.deallocate()
            scratch = .allocate(byteCount: bytes, alignment: 64)
        }
        for (r, y) in rect.y.enumerated() {
            let out = destination + r &* rect.width
            let raw = decode ? UnsafeMutableRawBufferPointer(rebasing: scratch![0..<bytes]) : UnsafeMutableRawBufferPointer(start: out, count: bytes)
            let row = Int64(z &* info.size.y &+ y)
            let offset = row * Int64(layout.rowBytes) + Int64(rect.x.lowerBound &* sampleBytes)
            let got = try source.read(at: dataOffset + offset, into: raw)
            if got < bytes {
                throw MRCReader.truncation(name: source.name, layout: layout, dataOffset: dataOffset, available: offset + Int64(got))
            }
            if decode {
                SampleCodec.decode(type, bigEndian: header.isBigEndian, from: raw.baseAddress!, count: rect.width, to: out)
            }
        }
    }

    /// Reads stored rows (file order) and decodes them.
    private func readStoredRows(from firstRow: Int, count: Int, into destination: UnsafeMutablePointer<Float>) throws {
        let nx = layout.storedSize.x
        let rowBytes = layout.rowBytes
        let type = layout.elementType
        let bytes = count * rowBytes
        let raw: UnsafeMutableRawBufferPointer
        if type == .float32 {
            raw = UnsafeMutableRawBufferPointer(start: destination, count: bytes)
        } else {
            if (scratch?.count ?? 0) < bytes {
                scratch?.deallocate()
                scratch = .allocate(byteCount: bytes, alignment: 64)
            }
            raw = UnsafeMutableRawBufferPointer(rebasing: scratch![0..<bytes])
        }
        try readRaw(rowOffset: firstRow, into: raw)
        if type == .uint4 {
            for r in 0..<count {
                SampleCodec.decode(type, bigEndian: false, from: raw.baseAddress! + r * rowBytes, count: nx, to: destination + r * nx)
            }
        } else if type != .float32 || header.isBigEndian {
            SampleCodec.decode(type, bigEndian: header.isBigEndian, from: raw.baseAddress!, count: count * nx, to: destination)
        }
    }

    /// Fills `raw` with the stored bytes of rows starting at `rowOffset`.
    private func readRaw(rowOffset: Int, into raw: UnsafeMutableRawBufferPointer) throws {
        let byteOffset = Int64(rowOffset) * Int64(layout.rowBytes)
        if let pendingData {
            pendingData.withUnsafeBytes { raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[Int(byteOffset)..<Int(byteOffset) + raw.count])) }
            return
        }
        let got: Int
        if source.isSeekable {
            got = try source.read(at: dataOffset + byteOffset, into: raw)
        } else {
            guard rowOffset == nextRow else {
                throw FilterError.notSeekable(source: source.name, operation: "reading row \(rowOffset) after row \(nextRow)")
            }
            got = try source.read(into: raw)
            nextRow += raw.count / layout.rowBytes
        }
        if got < raw.count {
            throw MRCReader.truncation(
                name: source.name, layout: layout, dataOffset: dataOffset, available: byteOffset + Int64(got))
        }
    }

    /// Loads a map stored in another axis order whole and transposes it to X, Y, Z.
    private func loadPermutedMap(memoryBudget: Int) throws {
        let count = layout.size.voxelCount
        let needed = count * 4 * 2
        let map = layout.axisOfStored
        guard needed <= memoryBudget else {
            throw FilterError.memoryBudget(
                what: "\(source.name) is stored in axis order \(map.x + 1),\(map.y + 1),\(map.z + 1) (MAPC/MAPR/MAPS), not X,Y,Z; reordering it",
                needed: needed, budget: memoryBudget)
        }
        let stored = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        defer { stored.deallocate() }
        try readStoredRows(from: 0, count: layout.storedSize.y * layout.storedSize.z, into: stored.baseAddress!)
        let result = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        let s = layout.storedSize, out = layout.size
        var strideOf = [1, out.x, out.x * out.y]  // X, Y, Z strides of the result
        let cs = strideOf[map.x], rs = strideOf[map.y], ss = strideOf[map.z]
        strideOf = []
        var i = 0
        for sec in 0..<s.z {
            for row in 0..<s.y {
                for col in 0..<s.x {
                    result[col * cs + row * rs + sec * ss] = stored[i]
                    i += 1
                }
            }
        }
        wholeMap = result
        warnings.append("axis order \(map.x + 1),\(map.y + 1),\(map.z + 1) (MAPC/MAPR/MAPS) reordered to X,Y,Z in memory")
    }

    /// The error for a data block that ends early, saying how much of it is there.
    static func truncation(name: String, layout: MRCLayout, dataOffset: Int64, available: Int64) -> FilterError {
        let have = max(0, available)
        let sections = layout.sectionBytes > 0 ? have / Int64(layout.sectionBytes) : 0
        return .truncated(
            source: name, offset: dataOffset + have,
            expected: "data block needs \(layout.dataBytes) bytes from offset \(dataOffset) (\(layout.storedSize) \(layout.elementType)), only \(have) present (\(sections) of \(layout.storedSize.z) sections)")
    }
}
