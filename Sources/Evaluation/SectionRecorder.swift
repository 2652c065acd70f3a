import FilterKit

/// Keeps the central XY, XZ and YZ sections of a volume from its rows as they stream past (rows
/// of X in Y-then-Z order, in any order and any number of times): what a picture of a run's
/// input or output needs, without reading the volume again.
public struct SectionRecorder {
    public let size: Size3
    public let voxelSize: Float
    private var xy: [Float], xz: [Float], yz: [Float]
    /// Rows of each section seen so far.
    private var seen = (xy: Set<Int>(), xz: Set<Int>(), yz: Set<Int>())

    public init(info: VolumeInfo) {
        size = info.size
        voxelSize = info.voxelSize.x
        xy = [Float](repeating: 0, count: size.x * size.y)
        xz = [Float](repeating: 0, count: size.x * size.z)
        yz = [Float](repeating: 0, count: size.y * size.z)
    }

    /// Records `count` rows starting at row `first` (row = z · ny + y).
    public mutating func record(rows count: Int, from first: Int, values: UnsafePointer<Float>) {
        let (nx, ny, nz) = (size.x, size.y, size.z)
        for r in 0..<count {
            let row = first + r, z = row / ny, y = row % ny
            guard z < nz else { return }
            let v = values + r * nx
            if z == nz / 2 {
                for x in 0..<nx { xy[y * nx + x] = v[x] }
                seen.xy.insert(y)
            }
            if y == ny / 2 {
                for x in 0..<nx { xz[z * nx + x] = v[x] }
                seen.xz.insert(z)
            }
            yz[z * ny + y] = v[nx / 2]
            seen.yz.insert(row)
        }
    }

    /// The sections, once every row they need was recorded.
    public var sections: Preview.Sections? {
        guard seen.xy.count == size.y, seen.xz.count == size.z, seen.yz.count == size.y * size.z else { return nil }
        return Preview.Sections(size: size, voxelSize: voxelSize, xy: xy, xz: xz, yz: yz)
    }
}
