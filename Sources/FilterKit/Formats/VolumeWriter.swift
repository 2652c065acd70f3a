/// A sink of voxels: a format writer taking rows of X in Y-then-Z order as `Float`.
///
/// Writers put their output under a temporary name (or in a scratch file for a pipe) and make
/// it final in ``finish()``; ``abort()`` leaves nothing behind.
public protocol VolumeWriter: AnyObject {
    /// Things the user should know (metadata that could not be carried…).
    var warnings: [String] { get }
    /// Values clamped (or NaN) when narrowing to the stored type.
    var clampedCount: Int { get }
    /// Appends `count` rows of X. The floats may be rounded in place to the stored values.
    func writeRows(_ count: Int, from values: UnsafeMutablePointer<Float>) throws
    /// Completes the output once every row was written.
    func finish() throws
    /// Abandons the output, removing what was written. Safe to call more than once.
    func abort()
}

/// A writer that can also place rectangles of sections anywhere in its output (an MRC file):
/// bricks are written straight into it, with no assembly file to put them in order first.
public protocol RectanglePlacingWriter: VolumeWriter {
    /// Whether rectangles can be placed in this output (a file; not a pipe or standard output).
    var placesRectangles: Bool { get }
    /// Writes the rectangle `rect` of section `z` of the written volume (`rect.voxels` floats, X
    /// fastest). The floats may be rounded in place to the stored values. Either every voxel is
    /// placed this way, or every row is written with ``VolumeWriter/writeRows(_:from:)``.
    func placeRectangle(_ rect: PlaneRect, section z: Int, from values: UnsafeMutablePointer<Float>) throws
}

extension MRCWriter: RectanglePlacingWriter {}
