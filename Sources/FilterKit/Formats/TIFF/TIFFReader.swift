import CTIFF
#if canImport(Glibc)
import Glibc
#endif

/// Which planes of a TIFF hyperstack to read as the Z sections.
public struct TIFFSelection: Sendable, Equatable {
    /// The channel, 1 = first (as ImageJ numbers them).
    public var channel: Int
    /// The frame (time point), 1 = first.
    public var frame: Int
    /// Read the channels of a stack of one slice as its Z sections: tifffile saves a 3-D array
    /// without `axes` as `channels=N, slices=1`.
    public var channelsAsSections: Bool

    public init(channel: Int = 1, frame: Int = 1, channelsAsSections: Bool = false) {
        self.channel = channel
        self.frame = frame
        self.channelsAsSections = channelsAsSections
    }
}

/// Reads a TIFF stack through libtiff, one page per Z section, decoding a page when a section
/// of it is first asked for (strips or tiles, any compression libtiff was built with).
///
/// - Pages must share size and sample type; one sample per pixel (grayscale).
/// - ImageJ hyperstacks (`channels=`, `frames=`) give one channel and frame (``TIFFSelection``).
/// - ImageJ files over 4 GiB hold one IFD and their planes contiguously after it: the planes
///   `images=` announces are then read from computed offsets.
/// - The voxel size comes from X/YResolution with ImageJ's `unit=` and `spacing=`, or with a
///   centimetre or inch ResolutionUnit when that makes pixels of 10 µm or finer (coarser ones,
///   such as 72 dpi, are print settings, not pixel sizes, and are ignored).
/// - TIFF needs random access: a pipe is first spooled to `$TMPDIR` (disk, not memory).
public final class TIFFReader: VolumeReader {
    public let info: VolumeInfo
    public let sourceName: String
    public private(set) var warnings: [String] = []
    public var supportsRandomAccess: Bool { true }
    /// A one-line description of the file's layout, for `info`.
    public let layout: String

    private let tif: OpaquePointer
    private let sampleType: TIFFSampleType
    private let planes: Planes
    private let spool: ScratchFile?
    private let rawFD: Int32
    /// The decoded section, allocated on the first read (`info` reads only the directories).
    private var pageBuffer: UnsafeMutableRawPointer?
    private let pageBytes: Int
    private var tile: UnsafeMutableRawPointer?
    private var cachedPage = -1
    private let memoryBudget: Int
    private var tileCapacity = 0

    private enum Planes {
        /// One IFD per plane, by file offset.
        case directories([UInt64])
        /// Uncompressed planes one after another from `first` (ImageJ > 4 GiB).
        case contiguous(first: Int64, bigEndian: Bool)
    }

    /// Opens the TIFF `source` (spooling it when it is not a seekable file).
    ///
    /// - Parameter memoryBudget: the most one page (and one tile) may take decoded: a header that
    ///   declares larger pages is refused before anything is allocated.
    public init(
        source: InputSource, selection: TIFFSelection = TIFFSelection(), spoolDirectory: String? = nil, memoryBudget: Int = 512 << 20
    ) throws {
        LibTIFF.installHandlers()
        sourceName = source.name
        if let path = source.path, source.isSeekable {
            spool = nil
            rawFD = open(path, O_RDONLY | O_CLOEXEC)
            guard rawFD >= 0 else { throw FilterError.system(source: path, operation: "open", errno: errno) }
        } else {
            let file = try ScratchFile.spooling(source, purpose: "spool file for \(source.name) (TIFF needs random access)", directory: spoolDirectory)
            spool = file
            rawFD = file.fd
        }
        let name = source.name
        // libtiff reads the header at the descriptor's position: start from byte 0.
        let fd = dup(rawFD)
        if fd >= 0 { lseek(fd, 0, SEEK_SET) }
        guard fd >= 0, let tif = TIFFFdOpen(fd, name, "rm") else {  // "m": no memory mapping (it would count the whole file in RSS)
            if fd >= 0 { close(fd) }
            if spool == nil { close(rawFD) }
            throw FilterError.unsupported(source: name, what: "not a readable TIFF file (\(LibTIFF.takeLastError()))", hint: "")
        }
        self.tif = tif
        let scan: Scan, pageBytes: Int
        do {
            scan = try TIFFReader.scan(tif, name: name, selection: selection, rawFD: rawFD)
            let (bytes, overflow) = scan.info.size.sectionVoxels.multipliedReportingOverflow(by: scan.sampleType.bytes)
            guard !overflow, bytes <= memoryBudget else {
                throw FilterError.memoryBudget(
                    what: "a \(scan.info.size.x)×\(scan.info.size.y) page of \(name)", needed: overflow ? Int.max : bytes, budget: memoryBudget)
            }
            pageBytes = bytes
        } catch {
            TIFFClose(tif)
            if spool == nil { close(rawFD) }
            throw error
        }
        sampleType = scan.sampleType
        planes = scan.planes
        info = scan.info
        layout = scan.layout
        warnings = scan.warnings
        self.memoryBudget = memoryBudget
        self.pageBytes = pageBytes
    }

    /// The page buffer, allocated when first needed.
    private var page: UnsafeMutableRawPointer {
        if let pageBuffer { return pageBuffer }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, pageBytes), alignment: 16)
        pageBuffer = buffer
        return buffer
    }

    deinit {
        TIFFClose(tif)
        if spool == nil { close(rawFD) }
        pageBuffer?.deallocate()
        tile?.deallocate()
    }

    public func readRows(from firstRow: Int, count: Int, into destination: UnsafeMutablePointer<Float>) throws {
        let (nx, ny) = (info.size.x, info.size.y)
        var row = firstRow
        var out = destination
        while row < firstRow + count {
            let z = row / ny, y = row % ny
            let rows = min(ny - y, firstRow + count - row)
            try load(page: z)
            var bigEndian = false
            if case let .contiguous(_, big) = planes { bigEndian = big }
            sampleType.decode(page + y * nx * sampleType.bytes, count: rows * nx, bigEndian: bigEndian, to: out)
            out += rows * nx
            row += rows
        }
    }

    /// Decodes section `z` into the page buffer (host byte order, or the file's for contiguous planes).
    private func load(page z: Int) throws {
        guard z != cachedPage else { return }
        cachedPage = -1
        let bytes = info.size.sectionVoxels * sampleType.bytes
        switch planes {
        case let .contiguous(first, _):
            let got = try SystemCalls.preadFully(rawFD, UnsafeMutableRawBufferPointer(start: page, count: bytes), at: first + Int64(z) * Int64(bytes), source: sourceName)
            guard got == bytes else {
                throw FilterError.truncated(source: sourceName, offset: first + Int64(z) * Int64(bytes) + Int64(got), expected: "plane \(z) of \(bytes) bytes (ImageJ contiguous layout)")
            }
        case let .directories(offsets):
            guard TIFFSetSubDirectory(tif, offsets[z]) == 1 else {
                throw FilterError.unsupported(source: sourceName, what: "page \(z): cannot read its directory at byte \(offsets[z]) (\(LibTIFF.takeLastError()))", hint: "")
            }
            if TIFFIsTiled(tif) != 0 { try decodeTiles(page: z) } else { try decodeStrips(page: z, bytes: bytes) }
        }
        cachedPage = z
    }

    private func decodeStrips(page z: Int, bytes: Int) throws {
        var offset = 0
        let strips = TIFFNumberOfStrips(tif)
        for s in 0..<strips where offset < bytes {
            let n = TIFFReadEncodedStrip(tif, s, page + offset, tmsize_t(bytes - offset))
            guard n >= 0 else {
                throw FilterError.unsupported(source: sourceName, what: "page \(z), strip \(s) cannot be decoded (\(LibTIFF.takeLastError()))", hint: "")
            }
            offset += Int(n)
        }
        guard offset == bytes else {
            throw FilterError.truncated(source: sourceName, offset: Int64(offset), expected: "page \(z) to decode to \(bytes) bytes, got \(offset)")
        }
    }

    private func decodeTiles(page z: Int) throws {
        let (nx, ny, b) = (info.size.x, info.size.y, sampleType.bytes)
        let tw = Int(LibTIFF.u32(tif, TIFFTAG_TILEWIDTH) ?? 0), tl = Int(LibTIFF.u32(tif, TIFFTAG_TILELENGTH) ?? 0)
        guard tw > 0, tl > 0 else {
            throw FilterError.unsupported(source: sourceName, what: "page \(z): tiled without TileWidth/TileLength", hint: "")
        }
        let tileBytes = Int(TIFFTileSize(tif))
        let (area, overflow) = tw.multipliedReportingOverflow(by: tl)
        guard !overflow, tileBytes >= 0, max(tileBytes, area * b) <= memoryBudget else {
            throw FilterError.memoryBudget(what: "a \(tw)×\(tl) tile of page \(z) of \(sourceName)", needed: overflow ? Int.max : max(tileBytes, area * b), budget: memoryBudget)
        }
        // Pages may be tiled differently: the buffer grows to the largest tile seen.
        let needed = max(tileBytes, area * b)
        if tile == nil || tileCapacity < needed {
            tile?.deallocate()
            tile = UnsafeMutableRawPointer.allocate(byteCount: max(1, needed), alignment: 16)
            tileCapacity = needed
        }
        let buffer = tile!
        for ty in stride(from: 0, to: ny, by: tl) {
            for tx in stride(from: 0, to: nx, by: tw) {
                let index = TIFFComputeTile(tif, UInt32(tx), UInt32(ty), 0, 0)
                guard TIFFReadEncodedTile(tif, index, buffer, tmsize_t(tileBytes)) >= 0 else {
                    throw FilterError.unsupported(source: sourceName, what: "page \(z), tile \(index) cannot be decoded (\(LibTIFF.takeLastError()))", hint: "")
                }
                let width = min(tw, nx - tx)
                for r in 0..<min(tl, ny - ty) {
                    (page + ((ty + r) * nx + tx) * b).copyMemory(from: buffer + r * tw * b, byteCount: width * b)
                }
            }
        }
    }

    // MARK: - Opening

    private struct Scan {
        var info: VolumeInfo
        var sampleType: TIFFSampleType
        var planes: Planes
        var layout: String
        var warnings: [String]
    }

    private struct PageShape: Equatable {
        var width: Int, height: Int, type: TIFFSampleType
    }

    /// Walks every directory, checks the pages agree, and works out the stack's geometry.
    private static func scan(_ tif: OpaquePointer, name: String, selection: TIFFSelection, rawFD: Int32) throws -> Scan {
        var offsets: [UInt64] = []
        var first: PageShape?
        var compressions = Set<UInt16>()
        var tiled = false
        repeat {
            let k = offsets.count
            let width = Int(LibTIFF.u32(tif, TIFFTAG_IMAGEWIDTH) ?? 0), height = Int(LibTIFF.u32(tif, TIFFTAG_IMAGELENGTH) ?? 0)
            let bits = LibTIFF.u16(tif, TIFFTAG_BITSPERSAMPLE, default: 1)!
            let format = LibTIFF.u16(tif, TIFFTAG_SAMPLEFORMAT, default: 1)!
            let samples = LibTIFF.u16(tif, TIFFTAG_SAMPLESPERPIXEL, default: 1)!
            let compression = LibTIFF.u16(tif, TIFFTAG_COMPRESSION, default: 1)!
            guard width > 0, height > 0 else {
                throw FilterError.unsupported(source: name, what: "page \(k) has no image size (\(width)×\(height))", hint: "")
            }
            guard samples == 1 else {
                throw FilterError.unsupported(
                    source: name, what: "page \(k) has \(samples) samples per pixel (RGB or multi-channel pixels)",
                    hint: "grayscale stacks only: split the channels first (ImageJ: Image › Color › Split Channels)")
            }
            guard let type = TIFFSampleType(bitsPerSample: bits, sampleFormat: format) else {
                throw FilterError.unsupported(
                    source: name, what: "page \(k) stores \(bits)-bit samples of SampleFormat \(format)",
                    hint: "8/16/32-bit integers and 16/32/64-bit floats are read")
            }
            guard LibTIFF.supports(compression: compression) else {
                throw FilterError.unsupported(source: name, what: "page \(k) uses compression \(compression), which this libtiff cannot decode", hint: "")
            }
            let shape = PageShape(width: width, height: height, type: type)
            if let first, shape != first {
                throw FilterError.unsupported(
                    source: name, what: "page \(k) is \(width)×\(height) \(type) but page 0 is \(first.width)×\(first.height) \(first.type)",
                    hint: "a stack's pages must share size and type")
            }
            first = first ?? shape
            compressions.insert(compression)
            tiled = tiled || TIFFIsTiled(tif) != 0
            offsets.append(TIFFCurrentDirOffset(tif))
            if TIFFLastDirectory(tif) != 0 { break }
            // A next directory is announced: failing to read it is a damaged file, not the end.
            guard TIFFReadDirectory(tif) == 1 else {
                throw FilterError.unsupported(source: name, what: "page \(offsets.count): its directory cannot be read (\(LibTIFF.takeLastError()))", hint: "the file is truncated or damaged")
            }
        } while true
        let shape = first!
        // Back to page 0 for its description, resolution and strip layout.
        guard TIFFSetSubDirectory(tif, offsets[0]) == 1 else {
            throw FilterError.unsupported(source: name, what: "cannot return to page 0 (\(LibTIFF.takeLastError()))", hint: "")
        }
        let imagej = LibTIFF.string(tif, TIFFTAG_IMAGEDESCRIPTION).flatMap(ImageJDescription.init)
        var warnings: [String] = []
        var planes = Planes.directories(offsets)
        var pageCount = offsets.count
        var layout = "\(offsets.count) page\(offsets.count == 1 ? "" : "s"), \(tiled ? "tiles" : "strips"), compression \(compressions.sorted().map(String.init).joined(separator: "/"))"
        if let imagej, let images = imagej.images, images > offsets.count {
            // ImageJ's > 4 GiB layout: one IFD, `images` uncompressed planes back to back.
            guard offsets.count == 1, compressions == [1], !tiled, let start = firstStripOffset(tif) else {
                throw FilterError.truncated(source: name, offset: 0, expected: "\(images) pages as the ImageJ description says, found \(offsets.count)")
            }
            let planeBytes = Int64(shape.width * shape.height * shape.type.bytes)
            let (total, overflow) = planeBytes.multipliedReportingOverflow(by: Int64(images))
            let (end, past) = start.addingReportingOverflow(total)
            var st = stat()
            if overflow || past || (fstat(rawFD, &st) == 0 && Int64(st.st_size) < end) {
                throw FilterError.truncated(source: name, offset: Int64(st.st_size), expected: "\(images) contiguous planes of \(planeBytes) bytes from byte \(start) (ImageJ layout)")
            }
            planes = .contiguous(first: start, bigEndian: TIFFIsBigEndian(tif) != 0)
            pageCount = images
            layout = "ImageJ contiguous layout: \(images) planes after one IFD"
        }
        // Hyperstack selection: planes are channel fastest, then slice, then frame.
        var depth = pageCount
        var pick: (Int) -> Int = { $0 }
        let channelStack = imagej.map { $0.channels > 1 && $0.sliceCount == 1 && $0.frames == 1 } ?? false
        if selection.channelsAsSections {
            guard let imagej, channelStack, selection.channel == 1, selection.frame == 1 else {
                throw FilterError.invalidParameter(
                    name: "channels-as-z", value: "on",
                    expected: "an ImageJ stack of channels and one slice and frame (\(name) has \(imagej.map { "\($0.channels) channel(s) × \($0.sliceCount) slice(s) × \($0.frames) frame(s)" } ?? "no ImageJ description"); no --channel or --frame with it)")
            }
            guard imagej.channels <= pageCount else {
                throw FilterError.truncated(source: name, offset: 0, expected: "\(imagej.channels) planes (channels), found \(pageCount)")
            }
            depth = imagej.channels
            layout += "; ImageJ channels read as \(depth) Z sections (--channels-as-z)"
        } else if let imagej, imagej.channels > 1 || imagej.frames > 1 || selection != TIFFSelection() {
            if channelStack, selection.channel == 1 {
                warnings.append(
                    "\(name): its ImageJ description says \(imagej.channels) channels of one slice (how tifffile saves a 3-D array without axes='ZYX'); "
                        + "reading channel 1 only, one section: --channels-as-z reads the \(imagej.channels) channels as Z sections")
            }
            let (c, z, t) = (imagej.channels, imagej.sliceCount, imagej.frames)
            guard (1...c).contains(selection.channel) else {
                throw FilterError.invalidParameter(name: "channel", value: "\(selection.channel)", expected: "1…\(c) (\(name) has \(c) channel\(c == 1 ? "" : "s"))")
            }
            guard (1...t).contains(selection.frame) else {
                throw FilterError.invalidParameter(name: "frame", value: "\(selection.frame)", expected: "1…\(t) (\(name) has \(t) frame\(t == 1 ? "" : "s"))")
            }
            guard c * z * t <= pageCount else {
                throw FilterError.truncated(source: name, offset: 0, expected: "\(c * z * t) planes (channels \(c) × slices \(z) × frames \(t)), found \(pageCount)")
            }
            depth = z
            let (cs, ts) = (selection.channel - 1, selection.frame - 1)
            pick = { ts * c * z + $0 * c + cs }
            if c > 1 || t > 1 { layout += "; ImageJ hyperstack \(c) channel(s) × \(z) slices × \(t) frame(s): channel \(selection.channel), frame \(selection.frame)" }
        } else if selection != TIFFSelection() {
            throw FilterError.invalidParameter(name: "channel/frame", value: "\(selection.channel)/\(selection.frame)", expected: "1/1: \(name) is not an ImageJ hyperstack")
        }
        switch planes {
        case let .directories(all): planes = .directories((0..<depth).map { all[pick($0)] })
        case .contiguous where depth != pageCount:
            throw FilterError.unsupported(source: name, what: "a hyperstack in ImageJ's contiguous > 4 GiB layout", hint: "save channels or frames as separate files")
        case .contiguous: break
        }
        let voxel = voxelSize(tif, imagej: imagej, warnings: &warnings)
        let info = VolumeInfo(
            size: Size3(x: shape.width, y: shape.height, z: depth), elementType: shape.type.elementType,
            voxelSize: voxel, kind: depth == 1 ? .image : .volume)
        return Scan(info: info, sampleType: shape.type, planes: planes, layout: layout, warnings: warnings)
    }

    private static func firstStripOffset(_ tif: OpaquePointer) -> Int64? {
        // A damaged file may give any 64-bit offset: one past Int64.max is no offset.
        let offset = TIFFGetStrileOffset(tif, 0)
        return offset > 0 ? Int64(exactly: offset) : nil
    }

    /// The coarsest pixel (10 µm, in Å) read from a bare centimetre or inch resolution.
    static let maximumPrintFreePixel = 1e5

    /// Å per pixel from the resolution tags and ImageJ's unit and spacing; 0 where unknown.
    private static func voxelSize(_ tif: OpaquePointer, imagej: ImageJDescription?, warnings: inout [String]) -> SIMD3<Float> {
        let xres = LibTIFF.float(tif, TIFFTAG_XRESOLUTION).map(Double.init) ?? 0
        let yres = LibTIFF.float(tif, TIFFTAG_YRESOLUTION).map(Double.init) ?? xres
        let unit = LibTIFF.u16(tif, TIFFTAG_RESOLUTIONUNIT, default: 2)!
        var perUnit: Double?
        if let name = imagej?.unit {
            perUnit = ImageJDescription.angstroms(perUnit: name)
        } else if unit == 3 {
            perUnit = 1e8
        } else if unit == 2 {
            perUnit = 2.54e8
        }
        guard let perUnit, xres > 0 else { return .zero }
        let x = perUnit / xres, y = yres > 0 ? perUnit / yres : x
        // Without ImageJ's unit, coarse resolutions (72 dpi, 1 pixel/cm) are print settings.
        guard imagej?.unit != nil || x <= maximumPrintFreePixel else { return .zero }
        let z = imagej?.spacing.map { $0 * perUnit } ?? x
        return SIMD3(Float(x), Float(y), Float(z))
    }
}
