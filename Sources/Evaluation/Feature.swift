#if canImport(Glibc)
import Glibc
#endif

/// One object of a phantom cell, in voxel coordinates, drawn with soft edges (about one voxel
/// wide) so that nothing aliases.
struct Feature: Sendable {
    enum Shape: Sendable {
        /// A solid ball (a particle, a crowding protein).
        case ball(radius: Double)
        /// A lipid bilayer on a sphere: two head-group layers `leaflet` either side of `radius`,
        /// each a Gaussian of `sigma`.
        case bilayer(radius: Double, leaflet: Double, sigma: Double)
        /// A tube from `center` to `end` between radii `inner` and `outer` (inner ≤ 0: solid),
        /// with rounded caps (a filament, a barrel-shaped complex).
        case rod(end: SIMD3<Double>, inner: Double, outer: Double)
    }

    var center: SIMD3<Double>
    var shape: Shape
    var density: Double
    /// The box outside which the feature adds nothing.
    let lower: SIMD3<Double>
    let upper: SIMD3<Double>

    init(center: SIMD3<Double>, shape: Shape, density: Double) {
        self.center = center
        self.shape = shape
        self.density = density
        switch shape {
        case let .ball(r):
            lower = center - SIMD3(repeating: r + 1)
            upper = center + SIMD3(repeating: r + 1)
        case let .bilayer(r, leaflet, sigma):
            let reach = r + leaflet + 4 * sigma
            lower = center - SIMD3(repeating: reach)
            upper = center + SIMD3(repeating: reach)
        case let .rod(end, _, outer):
            lower = pointwiseMin(center, end) - SIMD3(repeating: outer + 1)
            upper = pointwiseMax(center, end) + SIMD3(repeating: outer + 1)
        }
    }

    /// Adds the feature to section `z` (`ny` rows of `nx` values, `rowStride` apart), clipped to the section.
    func draw(section z: Int, into plane: UnsafeMutablePointer<Float>, nx: Int, ny: Int, rowStride: Int) {
        let zf = Double(z)
        guard zf >= lower.z && zf <= upper.z else { return }
        let x0 = max(0, Int(lower.x.rounded(.up))), x1 = min(nx - 1, Int(upper.x.rounded(.down)))
        let y0 = max(0, Int(lower.y.rounded(.up))), y1 = min(ny - 1, Int(upper.y.rounded(.down)))
        guard x0 <= x1 && y0 <= y1 else { return }
        let rho = density
        switch shape {
        case let .ball(r):
            let dz = zf - center.z
            for y in y0...y1 {
                let dy = Double(y) - center.y, ryz = dy * dy + dz * dz
                let row = plane + y * rowStride
                guard let (xa, xb) = span(ryz, outer: r + 0.5, x0, x1) else { continue }
                for x in xa...xb {
                    let dx = Double(x) - center.x
                    let d = (dx * dx + ryz).squareRoot()
                    row[x] += Float(rho * Feature.edge(r - d))
                }
            }
        case let .bilayer(r, leaflet, sigma):
            let dz = zf - center.z, reach = leaflet + 4 * sigma, k = -0.5 / (sigma * sigma)
            for y in y0...y1 {
                let dy = Double(y) - center.y, ryz = dy * dy + dz * dz
                let row = plane + y * rowStride
                guard let (xa, xb) = span(ryz, outer: r + reach, x0, x1) else { continue }
                // Inside the inner radius nothing is drawn either: skip that middle part.
                let inner = r - reach
                let gap = inner > 0 && ryz < inner * inner ? (inner * inner - ryz).squareRoot() : -1.0
                for x in xa...xb {
                    let dx = Double(x) - center.x
                    if abs(dx) < gap { continue }
                    let t = (dx * dx + ryz).squareRoot() - r
                    guard abs(t) < reach else { continue }
                    let a = t - leaflet, b = t + leaflet
                    row[x] += Float(rho * (exp(k * a * a) + exp(k * b * b)))
                }
            }
        case let .rod(end, inner, outer):
            let axis = end - center
            let length2 = max((axis * axis).sum(), 1e-12)
            let reach = outer + 1
            // Only the part of the axis near this section, then near each row, can reach it.
            guard let (ta, tb) = Feature.clip(center.z, axis.z, zf, reach, 0, 1) else { return }
            for y in y0...y1 {
                guard let (ua, ub) = Feature.clip(center.y, axis.y, Double(y), reach, ta, tb) else { continue }
                let (xa0, xb0) = (center.x + ua * axis.x, center.x + ub * axis.x)
                let xa = max(x0, Int((min(xa0, xb0) - reach).rounded(.up))), xb = min(x1, Int((max(xa0, xb0) + reach).rounded(.down)))
                guard xa <= xb else { continue }
                let row = plane + y * rowStride
                for x in xa...xb {
                    let p = SIMD3(Double(x), Double(y), zf) - center
                    let t = min(1, max(0, (p * axis).sum() / length2))
                    let q = p - t * axis
                    let d = (q * q).sum().squareRoot()
                    var v = Feature.edge(outer - d)
                    if inner > 0 { v *= Feature.edge(d - inner) }
                    if v > 0 { row[x] += Float(rho * v) }
                }
            }
        }
    }

    /// The parameters t in [t0, t1] where `a + t·d` lies within `r` of `c` (one coordinate of a
    /// segment's points), or nil when there are none.
    @inline(__always)
    static func clip(_ a: Double, _ d: Double, _ c: Double, _ r: Double, _ t0: Double, _ t1: Double) -> (Double, Double)? {
        if abs(d) < 1e-12 { return abs(a - c) <= r ? (t0, t1) : nil }
        let (u, v) = ((c - r - a) / d, (c + r - a) / d)
        let lo = max(t0, min(u, v)), hi = min(t1, max(u, v))
        return lo <= hi ? (lo, hi) : nil
    }

    /// The voxels `x0...x1` of a row at squared distance `ryz` from the centre (in Y and Z)
    /// that lie within `outer` of it, or nil when none does.
    @inline(__always)
    private func span(_ ryz: Double, outer: Double, _ x0: Int, _ x1: Int) -> (Int, Int)? {
        guard ryz < outer * outer else { return nil }
        let half = (outer * outer - ryz).squareRoot()
        let a = max(x0, Int((center.x - half).rounded(.up))), b = min(x1, Int((center.x + half).rounded(.down)))
        return a <= b ? (a, b) : nil
    }

    /// A one-voxel linear ramp from 0 (outside by half a voxel) to 1 (inside by half a voxel).
    @inline(__always)
    static func edge(_ inside: Double) -> Double { min(1, max(0, inside + 0.5)) }
}
