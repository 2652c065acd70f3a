/// An XY rectangle of a volume's sections: the part of every section a pipeline node holds.
///
/// In slab mode every node holds whole sections (``whole(_:)``); in brick mode a node holds the
/// rectangle its brick needs, and its sections are that rectangle's voxels, X fastest.
@frozen
public struct PlaneRect: Hashable, Sendable, CustomStringConvertible {
    public var x: Range<Int>
    public var y: Range<Int>

    @inlinable
    public init(x: Range<Int>, y: Range<Int>) {
        self.x = x
        self.y = y
    }

    /// The whole section of a volume of `size`.
    @inlinable
    public static func whole(_ size: Size3) -> PlaneRect { PlaneRect(x: 0..<size.x, y: 0..<size.y) }

    @inlinable
    public var width: Int { x.count }
    @inlinable
    public var height: Int { y.count }
    @inlinable
    public var voxels: Int { x.count &* y.count }

    /// Whether this is the whole section of a volume of `size`.
    @inlinable
    public func isWhole(of size: Size3) -> Bool { x == 0..<size.x && y == 0..<size.y }

    /// The box of sections `sections` over this rectangle.
    @inlinable
    public func box(sections: Range<Int>) -> Box {
        Box(origin: SIMD3(x.lowerBound, y.lowerBound, sections.lowerBound), size: Size3(x: x.count, y: y.count, z: sections.count))
    }

    /// The smallest rectangle of a volume of `size` holding every voxel the XY part of `box`
    /// reads once padded with `mode`: the box clipped to the section, grown to the voxels that
    /// padding past a face copies (a periodic boundary can need the far side of the section).
    public static func source(of box: Box, mode: BoundaryMode, in size: Size3) -> PlaneRect {
        func span(_ range: Range<Int>, count: Int) -> Range<Int> {
            var lower = Int.max, upper = Int.min
            let inside = max(0, range.lowerBound)..<min(count, range.upperBound)
            if !inside.isEmpty { (lower, upper) = (inside.lowerBound, inside.upperBound) }
            for v in range where v < 0 || v >= count {
                guard let mapped = mode.map(v, count: count) else { continue }
                lower = min(lower, mapped)
                upper = max(upper, mapped + 1)
            }
            return lower <= upper ? lower..<upper : 0..<0
        }
        return PlaneRect(x: span(box.range(0), count: size.x), y: span(box.range(1), count: size.y))
    }

    /// Calls `body` for each contiguous run of this rectangle's voxels in a section `planeWidth`
    /// voxels wide, in order: one run when the rectangle spans the whole width (its rows follow
    /// each other in the section), else one per row. `planeOffset` is the run's first voxel in
    /// the section (`y · planeWidth + x`), `rectOffset` in the rectangle (X fastest).
    @inlinable
    public func forEachRun(inPlaneOfWidth planeWidth: Int, _ body: (_ planeOffset: Int, _ rectOffset: Int, _ count: Int) throws -> Void) rethrows {
        guard voxels > 0 else { return }
        let first = y.lowerBound &* planeWidth &+ x.lowerBound
        if width == planeWidth { return try body(first, 0, voxels) }
        for r in 0..<height {
            try body(first &+ r &* planeWidth, r &* width, width)
        }
    }

    public var description: String { "x \(x.lowerBound)..<\(x.upperBound), y \(y.lowerBound)..<\(y.upperBound)" }
}
