/// The extent of a volume or region in voxels along X (fastest), Y and Z (slowest).
@frozen
public struct Size3: Hashable, Sendable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var z: Int

    @inlinable
    public init(x: Int, y: Int, z: Int) {
        self.x = x
        self.y = y
        self.z = z
    }

    /// Voxels in one XY section.
    @inlinable public var sectionVoxels: Int { x &* y }

    /// Voxels in the whole extent.
    @inlinable public var voxelCount: Int { x &* y &* z }

    public var description: String { "\(x)×\(y)×\(z)" }
}
