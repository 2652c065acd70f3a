#if canImport(Glibc)
import Glibc
#endif

/// A volume copied from a sequential reader (a pipe) into a temporary file of float32 sections,
/// so that it can be read more than once (prepass stages) or out of order.
///
/// The file is created in `$TMPDIR` (or `/tmp`) and unlinked at once: it disappears when the
/// process ends, however it ends. Memory stays at one chunk of sections while copying.
public final class SpooledVolume: VolumeReader {
    public let info: VolumeInfo
    public let sourceName: String
    public let warnings: [String] = []
    public var supportsRandomAccess: Bool { true }
    private let fd: Int32

    /// Copies every section of `reader` to a temporary file.
    ///
    /// - Parameters:
    ///   - directory: where to spool; `$TMPDIR` or `/tmp` when nil.
    ///   - chunkBytes: bytes moved per step.
    ///   - progress: told the sections copied so far.
    public init(copying reader: VolumeReader, directory: String? = nil, chunkBytes: Int = 8 << 20, progress: ((Int) -> Void)? = nil) throws {
        info = reader.info
        sourceName = reader.sourceName
        let base = directory ?? getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/stdio-filter-spool-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw FilterError.system(source: base, operation: "create a spool file for \(reader.sourceName) (set TMPDIR to a writable directory)", errno: errno)
        }
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        self.fd = fd
        let sectionVoxels = info.size.sectionVoxels
        let perChunk = max(1, chunkBytes / max(1, sectionVoxels * 4))
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: perChunk * sectionVoxels)
        defer { buffer.deallocate() }
        var z = 0
        do {
            while z < info.size.z {
                let count = min(perChunk, info.size.z - z)
                try reader.readSections(z..<(z + count), into: buffer)
                try SystemCalls.writeFully(fd, UnsafeRawBufferPointer(start: buffer, count: count * sectionVoxels * 4), target: "spool file in \(base)")
                z += count
                progress?(z)
            }
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    public func readRows(from firstRow: Int, count: Int, into destination: UnsafeMutablePointer<Float>) throws {
        let bytes = count * info.size.x * 4
        let got = try SystemCalls.preadFully(fd, UnsafeMutableRawBufferPointer(start: destination, count: bytes), at: Int64(firstRow) * Int64(info.size.x) * 4, source: "spool of \(sourceName)")
        guard got == bytes else {
            throw FilterError.truncated(source: "spool of \(sourceName)", offset: Int64(firstRow) * Int64(info.size.x) * 4 + Int64(got), expected: "\(bytes) bytes")
        }
    }
}
