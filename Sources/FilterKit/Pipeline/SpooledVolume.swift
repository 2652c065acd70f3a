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
    private let file: ScratchFile

    /// Copies every section of `reader` to a temporary file.
    ///
    /// - Parameters:
    ///   - directory: where to spool; `$TMPDIR` or `/tmp` when nil.
    ///   - chunkBytes: bytes moved per step.
    ///   - progress: told the sections copied so far.
    public init(copying reader: VolumeReader, directory: String? = nil, chunkBytes: Int = 8 << 20, progress: ((Int) -> Void)? = nil) throws {
        info = reader.info
        sourceName = reader.sourceName
        file = try ScratchFile(purpose: "spool file for \(reader.sourceName)", directory: directory)
        let sectionVoxels = info.size.sectionVoxels
        let perChunk = max(1, chunkBytes / max(1, sectionVoxels * 4))
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: perChunk * sectionVoxels)
        defer { buffer.deallocate() }
        var z = 0
        while z < info.size.z {
            let count = min(perChunk, info.size.z - z)
            try reader.readSections(z..<(z + count), into: buffer)
            try file.append(UnsafeRawBufferPointer(start: buffer, count: count * sectionVoxels * 4))
            z += count
            progress?(z)
        }
    }

    /// Copies every section a pipeline node produces (the input of a later stage) to a temporary file.
    init(copying source: SectionSource, info: VolumeInfo, sectionsPerRequest: Int, sourceName: String, directory: String?, progress: ((Int) -> Void)? = nil) throws {
        self.info = info
        self.sourceName = sourceName
        file = try ScratchFile(purpose: "spool file for the chain on \(sourceName)", directory: directory)
        let bytes = info.size.sectionVoxels * 4
        var z = 0
        while z < info.size.z {
            let count = min(max(1, sectionsPerRequest), info.size.z - z)
            try source.provide(z..<(z + count))
            for k in 0..<count {
                try file.append(UnsafeRawBufferPointer(start: source.section(z + k), count: bytes))
            }
            z += count
            progress?(z)
        }
    }

    public func readRows(from firstRow: Int, count: Int, into destination: UnsafeMutablePointer<Float>) throws {
        try file.read(into: UnsafeMutableRawBufferPointer(start: destination, count: count * info.size.x * 4), at: Int64(firstRow) * Int64(info.size.x) * 4)
    }

    public func readRectangle(_ rect: PlaneRect, section z: Int, into destination: UnsafeMutablePointer<Float>) throws {
        guard rect.width < info.size.x else { return try readRectangleByRows(rect, section: z, into: destination) }
        for (r, y) in rect.y.enumerated() {
            let voxel = (Int64(z) * Int64(info.size.y) + Int64(y)) * Int64(info.size.x) + Int64(rect.x.lowerBound)
            try file.read(into: UnsafeMutableRawBufferPointer(start: destination + r &* rect.width, count: rect.width &* 4), at: voxel * 4)
        }
    }
}
