/// How values outside the volume are made up when a stage's halo reaches past a face.
///
/// Names follow NumPy/SciPy (`numpy.pad`); note that dask's "reflect" is NumPy's `symmetric`.
/// For a row `a b c d`:
///
/// | mode | left padding | meaning |
/// |---|---|---|
/// | `nearest` | `a a a` | repeat the edge voxel (ITK's zero-flux Neumann) |
/// | `symmetric` | `c b a` | mirror including the edge voxel |
/// | `reflect` | `d c b` | mirror about the edge voxel |
/// | `zero` | `0 0 0` | constant zero |
/// | `periodic` | `b c d` | wrap around |
public enum BoundaryMode: String, CaseIterable, Sendable, CustomStringConvertible {
    case nearest
    case symmetric
    case reflect
    case zero
    case periodic

    /// The index inside `0..<count` that stands for `index`, or nil for zero padding.
    ///
    /// Works for any distance from the volume, including halos larger than the volume.
    @inlinable
    public func map(_ index: Int, count n: Int) -> Int? {
        if index >= 0 && index < n { return index }
        switch self {
        case .zero:
            return nil
        case .nearest:
            return index < 0 ? 0 : n - 1
        case .periodic:
            let r = index % n
            return r < 0 ? r + n : r
        case .symmetric:
            let period = 2 * n
            var r = index % period
            if r < 0 { r += period }
            return r < n ? r : period - 1 - r
        case .reflect:
            if n == 1 { return 0 }
            let period = 2 * n - 2
            var r = index % period
            if r < 0 { r += period }
            return r < n ? r : period - r
        }
    }

    public var description: String { rawValue }
}
