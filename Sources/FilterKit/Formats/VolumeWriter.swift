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

extension MRCWriter: VolumeWriter {}
