/// Sample planes across the possible tilt axes of a volume: what a search for its tilt geometry
/// reads (the tilt detector's power spectra and ``BackProjectionSplit/fitGeometry(_:axes:signs:angleSearch:)``).
///
/// Gathered from a volume in memory or from its sections as they stream by (``absorb(_:from:count:)``),
/// so that the geometry of a tomogram larger than memory is found in one pass over it, holding
/// only these planes. Each plane is `size.z × width` floats, Z outer (``BackProjectionSplit/Planes``'
/// layout): for the Y axis plane `p` is row `y = p` of every section, for the X axis column `x = p`.
public struct PlaneSamples: Sendable {
    public let size: Size3
    /// A plane held: plane `index` across `axis`.
    private struct Plane: Sendable {
        let axis: BackProjectionSplit.Axis
        let index: Int
        var values: [Float]
    }
    /// The planes held, filled in place as sections arrive (an array, not a dictionary of
    /// arrays, so that filling one never copies the others).
    private var planes: [Plane]

    /// Planes the detector samples per axis (at most).
    public static let detectorPlanes = 32
    /// Planes the geometry fit samples per axis (at most).
    public static let fitPlanes = 16

    /// The `wanted` planes spread evenly over `count`: plane `(2s + 1)·count / (2·n)`, s < n.
    public static func indices(count: Int, wanted: Int) -> [Int] {
        let n = min(count, wanted)
        return (0..<n).map { (2 * $0 + 1) * count / (2 * n) }
    }

    /// Planes across `axis` in a volume of `size`.
    public static func count(_ axis: BackProjectionSplit.Axis, size: Size3) -> Int { axis == .y ? size.y : size.x }

    /// Voxels along a plane's row (the axis across both the tilt axis and Z).
    public static func width(_ axis: BackProjectionSplit.Axis, size: Size3) -> Int { axis == .y ? size.x : size.y }

    /// Empty planes for the detector's and the fit's samples across `axes`, to be filled by
    /// ``absorb(_:from:count:)``.
    public init(size: Size3, axes: [BackProjectionSplit.Axis] = BackProjectionSplit.Axis.allCases) {
        self.size = size
        planes = axes.flatMap { axis in
            let count = Self.count(axis, size: size)
            let wanted = Set(Self.indices(count: count, wanted: Self.detectorPlanes) + Self.indices(count: count, wanted: Self.fitPlanes))
            return wanted.sorted().map { Plane(axis: axis, index: $0, values: [Float](repeating: 0, count: size.z * Self.width(axis, size: size))) }
        }
    }

    /// The samples of a volume in memory (`size.voxelCount` floats, X fastest).
    public init(volume: UnsafePointer<Float>, size: Size3, axes: [BackProjectionSplit.Axis] = BackProjectionSplit.Axis.allCases) {
        self.init(size: size, axes: axes)
        absorb(volume, from: 0, count: size.z)
    }

    /// Bytes the samples of a volume of `size` hold.
    public static func bytes(for size: Size3, axes: [BackProjectionSplit.Axis] = BackProjectionSplit.Axis.allCases) -> Int {
        axes.reduce(0) { total, axis in
            let count = Self.count(axis, size: size)
            let planes = Set(indices(count: count, wanted: detectorPlanes) + indices(count: count, wanted: fitPlanes)).count
            return total + planes * size.z * width(axis, size: size) * 4
        }
    }

    /// Copies what the planes hold of sections `z ..< z + count` (whole sections, X fastest).
    public mutating func absorb(_ sections: UnsafePointer<Float>, from z: Int, count: Int) {
        let (nx, ny) = (size.x, size.y)
        for i in planes.indices {
            let (axis, p) = (planes[i].axis, planes[i].index)
            let width = Self.width(axis, size: size)
            planes[i].values.withUnsafeMutableBufferPointer { plane in
                for k in 0..<count {
                    let section = sections + k &* nx &* ny, row = plane.baseAddress! + (z &+ k) &* width
                    if axis == .y {
                        row.update(from: section + p &* nx, count: nx)
                    } else {
                        for y in 0..<ny { row[y] = section[y &* nx &+ p] }
                    }
                }
            }
        }
    }

    /// The axes sampled.
    public var axes: [BackProjectionSplit.Axis] { BackProjectionSplit.Axis.allCases.filter { axis in planes.contains { $0.axis == axis } } }

    /// Plane `p` across `axis` (`size.z × width` floats), which must be one of the samples.
    public func plane(_ p: Int, axis: BackProjectionSplit.Axis) -> [Float] {
        guard let plane = planes.first(where: { $0.axis == axis && $0.index == p }) else { preconditionFailure("plane \(p) across \(axis) was not sampled") }
        return plane.values
    }
}
