#if canImport(Glibc)
import Glibc
#endif
import FilterKit

/// Parallel-beam projection about the Y axis and its adjoint, the back-projection with linear
/// interpolation along X that `../shared/tools/reconstruct.py` (and IMOD's `tilt`) use.
///
/// At tilt θ, voxel (x, y, z) lies on detector position u = (x − c)·cos θ + (z − c_z)·sin θ + c
/// of row y, with c the rotation centre along X and c_z the volume's middle section. The
/// back-projection reads each tilt's filtered row at u by linear interpolation (nothing where u
/// falls off the detector); the projection spreads each voxel onto the same two detector
/// positions with the same weights, so the two are exact transposes (the dot-product test).
/// Rows along Y are independent, so both run in parallel over rows.
public struct ParallelBeam: Sendable {
    /// Volume width (X, also the detector's), rows (Y, the tilt axis) and depth (Z).
    public let width: Int, rows: Int, depth: Int
    /// (cos θ, sin θ) per tilt.
    public let directions: [(cos: Float, sin: Float)]
    /// The rotation centre along X (voxels).
    public let centre: Double

    public init(width: Int, rows: Int, depth: Int, angles: [Double], axisOffset: Double = 0) {
        self.width = width
        self.rows = rows
        self.depth = depth
        directions = angles.map { (Float(cos($0 * Double.pi / 180)), Float(sin($0 * Double.pi / 180))) }
        centre = Double(width - 1) / 2 + axisOffset
    }

    /// Values in one tilt's image (rows × width).
    public var imageValues: Int { rows * width }

    /// Adds the projections of sections `sections` (`values`: those sections, X fastest) to
    /// `images` (one rows × width image per tilt, in tilt order).
    public func project(sections: Range<Int>, values: UnsafePointer<Float>, into images: UnsafeMutablePointer<Float>) {
        let (nx, ny) = (width, rows)
        Parallel.forEachChunk(ny) { band in
            for t in directions.indices {
                let (c, s) = directions[t]
                for y in band {
                    let row = images + t * ny * nx + y * nx
                    for z in sections {
                        let source = values + ((z - sections.lowerBound) * ny + y) * nx
                        sweep(c: c, s: s, z: z) { x, u0, w in
                            let v = source[x]
                            row[u0] += v * (1 - w)
                            row[u0 &+ 1] += v * w
                        }
                    }
                }
            }
        }
    }

    /// Writes into `values` (sections `sections`) the back-projection of the images of the
    /// tilts `tilts` (their stack indices), each scaled by `weight`.
    public func backProject(images: UnsafePointer<Float>, tilts: [Int], weight: Float = 1, sections: Range<Int>, into values: UnsafeMutablePointer<Float>) {
        let (nx, ny) = (width, rows)
        Parallel.forEachChunk(ny) { band in
            for y in band {
                for z in sections {
                    let out = values + ((z - sections.lowerBound) * ny + y) * nx
                    out.update(repeating: 0, count: nx)
                    for t in tilts {
                        let (c, s) = directions[t]
                        let row = images + t * ny * nx + y * nx
                        sweep(c: c, s: s, z: z) { x, u0, w in
                            out[x] += weight * (row[u0] * (1 - w) + row[u0 &+ 1] * w)
                        }
                    }
                }
            }
        }
    }

    /// Calls `body(x, u0, w)` for every x of section `z` whose detector position u lies on the
    /// detector (0 ≤ u ≤ width − 1): u0 = ⌊u⌋ clamped to width − 2, w = u − u0.
    @inline(__always)
    private func sweep(c: Float, s: Float, z: Int, _ body: (Int, Int, Float) -> Void) {
        let nx = width
        guard nx >= 2 else { return }
        let zc = Float(Double(z) - Double(depth - 1) / 2), cx = Float(centre)
        let base = zc * s + cx - cx * c
        let last = Float(nx - 1)
        for x in 0..<nx {
            let u = Float(x) * c + base
            guard u >= 0 && u <= last else { continue }
            let u0 = min(Int(u), nx - 2)
            body(x, u0, u - Float(u0))
        }
    }
}
