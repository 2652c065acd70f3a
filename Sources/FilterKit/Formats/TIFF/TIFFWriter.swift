import CTIFF
#if canImport(Glibc)
import Glibc
#endif

/// Writes a multi-page TIFF Z stack through libtiff, a page per section, that ImageJ/Fiji and
/// tifffile open as one stack with its voxel size: an ImageJ description (`images=`, `slices=`,
/// `unit=nm`, `spacing=`) and X/YResolution in pixels per nm.
///
/// BigTIFF is chosen at open time when the uncompressed data could pass 4 GiB (as tifffile
/// does). Compression is optional, with the predictor that suits the type (2 for integers, 3 for
/// floats). libtiff seeks while writing, so a file is written in place (under the output's
/// temporary name) and standard output gets a scratch file in `$TMPDIR` copied out at the end.
public final class TIFFWriter: VolumeWriter {
    public enum Compression: String, CaseIterable, Sendable {
        case none, deflate, zstd, lzw

        var code: UInt16 {
            switch self {
            case .none: return UInt16(COMPRESSION_NONE)
            case .deflate: return UInt16(COMPRESSION_ADOBE_DEFLATE)
            case .zstd: return UInt16(COMPRESSION_ZSTD)
            case .lzw: return UInt16(COMPRESSION_LZW)
            }
        }
    }

    public private(set) var warnings: [String] = []
    public private(set) var clampedCount = 0
    /// Whether the file is BigTIFF.
    public let isBigTIFF: Bool

    private let target: OutputTarget
    private let staging: ScratchFile?
    private let tif: OpaquePointer
    private let info: VolumeInfo
    private let sampleType: TIFFSampleType
    private let compression: Compression
    private let description: String
    private let software: String
    private let page: UnsafeMutablePointer<Float>
    private let encoded: UnsafeMutableRawPointer
    private var rowsInPage = 0
    private var pagesWritten = 0
    private var statistics = RunningStatistics()
    private var closed = false

    /// Data sizes above this get BigTIFF (tifffile's threshold: 4 GiB less 32 MiB for the IFDs).
    static let bigTIFFThreshold: Int64 = (1 << 32) - (1 << 25)

    public convenience init(target: OutputTarget, info: VolumeInfo, operation: String, compression: Compression = .none) throws {
        try self.init(target: target, info: info, operation: operation, compression: compression, description: nil)
    }

    /// - Parameter description: the first page's ImageDescription instead of the ImageJ Z stack's.
    init(target: OutputTarget, info: VolumeInfo, operation: String, compression: Compression, description custom: String?) throws {
        LibTIFF.installHandlers()
        guard info.elementType != .uint4 else {
            throw FilterError.unsupported(source: target.name, what: "writing 4-bit data to TIFF", hint: "choose int8, uint8, int16, uint16, float16 or float32")
        }
        guard compression == .none || LibTIFF.supports(compression: compression.code) else {
            throw FilterError.unsupported(source: target.name, what: "this libtiff cannot write \(compression.rawValue) compression", hint: "use --compression deflate or lzw")
        }
        self.target = target
        self.info = info
        self.compression = compression
        sampleType = TIFFSampleType(info.elementType)
        let dataBytes = Int64(info.size.voxelCount) * Int64(sampleType.bytes)
        isBigTIFF = dataBytes > TIFFWriter.bigTIFFThreshold
        let fd: Int32
        if let file = target.fileDescriptor {
            staging = nil
            fd = dup(file)
        } else {
            let file = try ScratchFile(purpose: "staging file for TIFF on \(target.name) (libtiff needs to seek)", bytes: dataBytes)
            staging = file
            fd = dup(file.fd)
        }
        guard fd >= 0, let tif = TIFFFdOpen(fd, target.name, isBigTIFF ? "w8" : "w") else {
            if fd >= 0 { close(fd) }
            throw FilterError.unsupported(source: target.name, what: "libtiff cannot open the output (\(LibTIFF.takeLastError()))", hint: "")
        }
        self.tif = tif
        let nm = info.voxelSize / 10
        description = custom ?? ImageJDescription.text(
            slices: info.size.z, unit: nm.x > 0 ? "nm" : nil, spacing: nm.z > 0 ? Double(nm.z) : nil)
        software = "stdio-filter: \(operation)"
        page = .allocate(capacity: info.size.sectionVoxels)
        encoded = .allocate(byteCount: max(1, info.size.sectionVoxels * sampleType.bytes), alignment: 16)
    }

    deinit {
        if !closed { abort() }
        page.deallocate()
        encoded.deallocate()
    }

    public func writeRows(_ count: Int, from values: UnsafeMutablePointer<Float>) throws {
        let (nx, ny) = (info.size.x, info.size.y)
        var done = 0
        while done < count {
            let rows = min(ny - rowsInPage, count - done)
            (page + rowsInPage * nx).update(from: values + done * nx, count: rows * nx)
            rowsInPage += rows
            done += rows
            if rowsInPage == ny {
                try writePage()
                rowsInPage = 0
            }
        }
    }

    private func set(_ tag: Int32, _ value: UInt16) { _ = sf_tiff_set_u16(tif, UInt32(tag), value) }
    private func set(_ tag: Int32, _ value: UInt32) { _ = sf_tiff_set_u32(tif, UInt32(tag), value) }

    private func writePage() throws {
        let (nx, ny) = (info.size.x, info.size.y)
        clampedCount += SampleCodec.encode(info.elementType, from: page, count: nx * ny, to: encoded, statistics: &statistics)
        set(TIFFTAG_SUBFILETYPE, UInt32(info.size.z > 1 ? FILETYPE_PAGE : 0))
        set(TIFFTAG_IMAGEWIDTH, UInt32(nx))
        set(TIFFTAG_IMAGELENGTH, UInt32(ny))
        set(TIFFTAG_BITSPERSAMPLE, sampleType.bitsPerSample)
        set(TIFFTAG_SAMPLEFORMAT, sampleType.sampleFormat)
        set(TIFFTAG_SAMPLESPERPIXEL, UInt16(1))
        set(TIFFTAG_PHOTOMETRIC, UInt16(PHOTOMETRIC_MINISBLACK))
        set(TIFFTAG_PLANARCONFIG, UInt16(PLANARCONFIG_CONTIG))
        set(TIFFTAG_COMPRESSION, compression.code)
        if compression != .none {
            set(TIFFTAG_PREDICTOR, UInt16(sampleType.sampleFormat == 3 ? PREDICTOR_FLOATINGPOINT : PREDICTOR_HORIZONTAL))
        }
        let rowBytes = nx * sampleType.bytes
        let rowsPerStrip = max(1, min(ny, (256 << 10) / max(1, rowBytes)))
        set(TIFFTAG_ROWSPERSTRIP, UInt32(rowsPerStrip))
        if info.voxelSize.x > 0 {
            _ = sf_tiff_set_double(tif, UInt32(TIFFTAG_XRESOLUTION), Double(10 / info.voxelSize.x))
            _ = sf_tiff_set_double(tif, UInt32(TIFFTAG_YRESOLUTION), Double(10 / (info.voxelSize.y > 0 ? info.voxelSize.y : info.voxelSize.x)))
            set(TIFFTAG_RESOLUTIONUNIT, UInt16(RESUNIT_NONE))
        }
        if pagesWritten == 0 { _ = sf_tiff_set_string(tif, UInt32(TIFFTAG_IMAGEDESCRIPTION), description) }
        _ = sf_tiff_set_string(tif, UInt32(TIFFTAG_SOFTWARE), software)
        if info.size.z <= Int(UInt16.max) {
            _ = sf_tiff_set_page_number(tif, UInt16(pagesWritten), UInt16(info.size.z))
        }
        var strip: UInt32 = 0
        for row in stride(from: 0, to: ny, by: rowsPerStrip) {
            let rows = min(rowsPerStrip, ny - row)
            guard TIFFWriteEncodedStrip(tif, strip, encoded + row * rowBytes, tmsize_t(rows * rowBytes)) >= 0 else {
                throw FilterError.system(source: target.name, operation: "write page \(pagesWritten) (\(LibTIFF.takeLastError()))", errno: errno)
            }
            strip += 1
        }
        guard TIFFWriteDirectory(tif) == 1 else {
            throw FilterError.system(source: target.name, operation: "write the directory of page \(pagesWritten) (\(LibTIFF.takeLastError()))", errno: errno)
        }
        pagesWritten += 1
    }

    public func finish() throws {
        guard pagesWritten == info.size.z, rowsInPage == 0 else {
            throw FilterError.truncated(source: target.name, offset: 0, expected: "\(info.size.z) pages, got \(pagesWritten)")
        }
        closed = true
        TIFFClose(tif)
        if let staging {
            // Copy the finished file to standard output.
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 16)
            defer { chunk.deallocate() }
            let size = lseek(staging.fd, 0, SEEK_END)
            var offset: Int64 = 0
            while offset < Int64(size) {
                let n = min(chunk.count, Int(Int64(size) - offset))
                try staging.read(into: UnsafeMutableRawBufferPointer(rebasing: chunk[0..<n]), at: offset)
                try target.write(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
                offset += Int64(n)
            }
        }
        try target.commit()
    }

    public func abort() {
        if !closed {
            closed = true
            TIFFClose(tif)
        }
        target.discard()
    }
}
