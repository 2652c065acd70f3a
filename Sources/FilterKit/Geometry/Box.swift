/// An axis-aligned region of voxels: `origin` (may be negative or past the volume, for halos)
/// and `size`, in X, Y, Z.
@frozen
public struct Box: Hashable, Sendable, CustomStringConvertible {
    public var origin: SIMD3<Int>
    public var size: Size3

    @inlinable
    public init(origin: SIMD3<Int>, size: Size3) {
        self.origin = origin
        self.size = size
    }

    /// Full XY sections `sections` of a volume of `volume` size.
    @inlinable
    public init(sections: Range<Int>, of volume: Size3) {
        self.init(origin: SIMD3(0, 0, sections.lowerBound), size: Size3(x: volume.x, y: volume.y, z: sections.count))
    }

    /// The range covered along `axis` (0 = X, 1 = Y, 2 = Z).
    @inlinable
    public func range(_ axis: Int) -> Range<Int> {
        let n = axis == 0 ? size.x : axis == 1 ? size.y : size.z
        return origin[axis]..<(origin[axis] + n)
    }

    /// The box grown by `halo` voxels on both sides of each axis.
    @inlinable
    public func padded(by halo: SIMD3<Int>) -> Box {
        Box(origin: origin &- halo, size: Size3(x: size.x + 2 * halo.x, y: size.y + 2 * halo.y, z: size.z + 2 * halo.z))
    }

    public var description: String {
        "x \(range(0).lowerBound)..<\(range(0).upperBound), y \(range(1).lowerBound)..<\(range(1).upperBound), z \(range(2).lowerBound)..<\(range(2).upperBound)"
    }
}
