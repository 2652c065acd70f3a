/// A source of voxels: a format reader streaming rows of X in Y-then-Z order as `Float`.
public protocol VolumeReader: AnyObject {
    /// Shape, type, geometry and metadata, known before any voxel is read.
    var info: VolumeInfo { get }
    /// The input's name for messages (path or `stdin`).
    var sourceName: String { get }
    /// Things the user should know that are not errors (a bogus NSYMBT ignored, …).
    var warnings: [String] { get }
    /// Whether rows can be read in any order. Otherwise each call must continue where the last ended.
    var supportsRandomAccess: Bool { get }

    /// Reads `count` whole rows starting at row `firstRow` (row index = z · ny + y).
    func readRows(from firstRow: Int, count: Int, into destination: UnsafeMutablePointer<Float>) throws

    /// Reads the rectangle `rect` of section `z` into `destination` (`rect.voxels` floats, X
    /// fastest): what a brick needs of a section. Random-access readers only. The default reads
    /// whole rows and keeps the rectangle's columns; readers that can read a row's part directly
    /// (MRC files: `pread` of each row's columns) do so.
    func readRectangle(_ rect: PlaneRect, section z: Int, into destination: UnsafeMutablePointer<Float>) throws
}

extension VolumeReader {
    /// Reads whole XY sections `sections` into `destination` (room for `sections.count · nx · ny` floats).
    public func readSections(_ sections: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        let ny = info.size.y
        try readRows(from: sections.lowerBound * ny, count: sections.count * ny, into: destination)
    }

    public func readRectangle(_ rect: PlaneRect, section z: Int, into destination: UnsafeMutablePointer<Float>) throws {
        try readRectangleByRows(rect, section: z, into: destination)
    }

    /// ``readRectangle(_:section:into:)`` through whole rows, a band of rows at a time (about 1 MiB).
    public func readRectangleByRows(_ rect: PlaneRect, section z: Int, into destination: UnsafeMutablePointer<Float>) throws {
        let nx = info.size.x
        precondition(rect.x.lowerBound >= 0 && rect.x.upperBound <= nx && rect.y.lowerBound >= 0 && rect.y.upperBound <= info.size.y, "rectangle \(rect) outside the section")
        guard rect.voxels > 0 else { return }
        if rect.width == nx {
            try readRows(from: z &* info.size.y &+ rect.y.lowerBound, count: rect.height, into: destination)
            return
        }
        let band = max(1, min(rect.height, (1 << 18) / max(1, nx)))
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: band &* nx)
        defer { rows.deallocate() }
        var y = rect.y.lowerBound
        var out = destination
        while y < rect.y.upperBound {
            let count = min(band, rect.y.upperBound &- y)
            try readRows(from: z &* info.size.y &+ y, count: count, into: rows)
            for r in 0..<count {
                out.update(from: rows + (r &* nx &+ rect.x.lowerBound), count: rect.width)
                out += rect.width
            }
            y &+= count
        }
    }
}
