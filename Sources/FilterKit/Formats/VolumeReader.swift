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
}

extension VolumeReader {
    /// Reads whole XY sections `sections` into `destination` (room for `sections.count · nx · ny` floats).
    public func readSections(_ sections: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        let ny = info.size.y
        try readRows(from: sections.lowerBound * ny, count: sections.count * ny, into: destination)
    }
}
