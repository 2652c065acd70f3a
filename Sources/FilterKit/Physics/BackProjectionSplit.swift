import Foundation

/// Splits a weighted back-projection (WBP) tomogram into the two sub-tomograms of alternate tilts,
/// from the tomogram alone: two volumes with independent noise for Noise2Noise training.
///
/// A WBP tomogram is, plane by plane perpendicular to the tilt axis, a sum of one *ridge function*
/// per tilt: the tilt's filtered projection, linearly interpolated at u = a·cos θ + z·sin θ + c and
/// smeared along the beam. With more voxels in a plane than projection samples, that sum can be
/// undone: the per-tilt profiles are the least-squares solution of `A q = v`, with `A` the
/// back-projection (linear interpolation) of all tilts, solved per plane by preconditioned
/// conjugate gradients. The sub-tomogram of the even-numbered tilts (in angle order) is then
/// `A_even q_even`, the other `A_odd q_odd`; their noise comes from different exposures.
///
/// What is not given is estimated from the volume: the tilt axis (Y or X), the sign of the angles
/// and, per tilt, the sub-voxel phase `c` of the interpolation grid (it depends on where the
/// volume was cut from the reconstruction; a wrong phase leaves a residual of 15–25 %). Each
/// tilt's phase is the one whose profiles explain the most of the volume alone (a tridiagonal
/// least-squares fit per plane, on sample planes). ``Fit/residual`` says how well the volume is
/// such a sum: well under 1 % for a WBP with linear interpolation; a volume filtered, binned or
/// rotated after reconstruction, or other angles, leave much more.
public struct BackProjectionSplit: Sendable {
    /// The axis the specimen was tilted about, in the volume's frame.
    public enum Axis: String, Sendable, CaseIterable { case y, x }

    /// The geometry found, and how well the volume fits it.
    public struct Fit: Sendable, CustomStringConvertible {
        public var axis: Axis
        /// +1 when u = a·cos θ + z·sin θ, −1 when the angles run the other way.
        public var sign: Double
        /// Per tilt (in angle order), the sub-voxel phase of its interpolation grid, in [0, 1).
        public var phases: [Double]
        /// Per tilt, the angle as refined on the volume, in degrees as given (before `sign`):
        /// 0.05° off leaves a residual of 7 % on a 192-voxel-wide plane.
        public var degrees: [Double]
        /// ‖v − A q‖ / ‖v‖ over the planes fitted.
        public var residual: Double
        /// Whether each tilt reaches only the voxels whose ray falls on its projection (a
        /// reconstruction of the whole field of view, centred): kept when it fits better.
        public var edges = false
        /// Where the volume being split lies along Z in the reconstruction this fit describes:
        /// its centre minus the reconstruction's, in voxels (a window of sections of a deeper
        /// tomogram: ``window(from:depth:of:)``); 0 for the whole reconstruction.
        public var depthOffset = 0.0

        /// The fit of sections `start ..< start + depth` of a reconstruction `total` sections deep.
        public func window(from start: Int, depth: Int, of total: Int) -> Fit {
            var fit = self
            fit.depthOffset = depthOffset + Double(start) + Double(depth - 1) / 2 - Double(total - 1) / 2
            return fit
        }

        public var description: String {
            String(format: "tilt axis %@, angles %@, residual %.2f %%%@", axis.rawValue.uppercased(), sign > 0 ? "as given" : "negated", residual * 100, edges ? " (projection edges at the volume's)" : "")
        }
    }

    /// The tilts, sorted by angle.
    public let angles: TiltAngles
    /// Conjugate-gradient iterations per plane at most.
    public var iterations = 120
    /// Relative ridge added to the normal equations (times the mean of their diagonal).
    public var ridge = 1e-6

    public init(angles: TiltAngles) { self.angles = angles }

    /// One plane's layout: `width` voxels along the axis perpendicular to the tilt axis, `depth`
    /// along Z, and the basis of every tilt's profile on it.
    struct Basis {
        let width: Int, depth: Int
        let cosines: [Double], sines: [Double]
        /// Per tilt, `u − lowest node` at (a = 0, z) is `a·cos + start + z·sin`.
        let starts: [Double]
        /// Per tilt, where its nodes start in the unknowns, and how many it has.
        let offsets: [Int], counts: [Int]
        var unknowns: Int { offsets.last! + counts.last! }
        var tilts: Int { cosines.count }
        /// Per row (`z · tilts + k`), the voxels `a` the tilt reaches: all of them, or with
        /// `edges` only those whose ray falls on the projection (u within the plane's width
        /// about its centre, as a reconstruction of the whole field of view has it: beyond its
        /// edge a projection adds nothing, a jump no interpolated profile can follow).
        let reach: [Range<Int>]

        /// `depthOffset`: ``Fit/depthOffset`` (the rows are a window of the reconstruction's, so
        /// each tilt's grid and edges lie where they do in the whole).
        init(width: Int, depth: Int, radians: [Double], phases: [Double], edges: Bool = false, depthOffset: Double = 0) {
            self.width = width
            self.depth = depth
            let sines = radians.map(sin)
            cosines = radians.map(cos)
            self.sines = sines
            let ac = Double(width - 1) / 2, zc = Double(depth - 1) / 2
            // u − ac = (a − ac)·cos + (z − zc + depthOffset)·sin + phase.
            let phases = zip(phases, sines).map { $0 + depthOffset * $1 }
            var reach: [Range<Int>] = []
            for z in 0..<depth {
                for k in radians.indices {
                    guard edges else { reach.append(0..<width); continue }
                    // 0 ≤ (a − ac)·cos + (z − zc)·sin + ac ≤ width − 1, cos > 0.
                    let shift = (Double(z) - zc + depthOffset) * sines[k]
                    let low = max(0, Int(((-ac - shift) / cosines[k] + ac - 1e-9).rounded(.up)))
                    let high = min(width - 1, Int(((ac - shift) / cosines[k] + ac + 1e-9).rounded(.down)))
                    reach.append(low <= high ? low..<high + 1 : 0..<0)
                }
            }
            self.reach = reach
            var starts: [Double] = [], offsets: [Int] = [], counts: [Int] = []
            var next = 0
            for k in radians.indices {
                let c = cosines[k], s = sines[k]
                let corners = [(-ac, -zc), (ac, -zc), (-ac, zc), (ac, zc)].map { $0.0 * c + $0.1 * s + phases[k] }
                let lowest = corners.min()!.rounded(.down), highest = corners.max()!.rounded(.down)
                // u − lowest at a = 0, z = 0 (nodes counted from `lowest`).
                starts.append(-ac * c - zc * s + phases[k] - lowest)
                offsets.append(next)
                counts.append(Int(highest - lowest) + 2)
                next += Int(highest - lowest) + 2
            }
            self.starts = starts
            self.offsets = offsets
            self.counts = counts
        }

        /// Calls `row(k, z, start, voxels)` for every tilt `k` and depth `z`, where along that
        /// row of the plane `u − lowest node = a·cos θ_k + start`, for `a` in `voxels` (``reach``).
        @inline(__always)
        func forEachRow(tilts: Range<Int>? = nil, _ row: (_ k: Int, _ z: Int, _ start: Double, _ voxels: Range<Int>) -> Void) {
            for z in 0..<depth {
                for k in tilts ?? 0..<self.tilts {
                    row(k, z, starts[k] + Double(z) * sines[k], reach[z &* self.tilts &+ k])
                }
            }
        }

        /// `out += A q` for the tilts whose `include` is true (all when nil).
        func project(_ q: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, include: [Bool]? = nil) {
            forEachRow { k, z, start, voxels in
                if let include, !include[k] { return }
                let c = cosines[k], nodes = q + offsets[k], line = out + z &* width
                for a in voxels {
                    let u = Double(a) * c + start
                    let i = Int(u)
                    let w = u - Double(i)
                    line[a] += nodes[i] + w * (nodes[i &+ 1] - nodes[i])
                }
            }
        }

        /// `q = Aᵀ r`.
        func backProject(_ r: UnsafePointer<Double>, into q: UnsafeMutablePointer<Double>) {
            q.update(repeating: 0, count: unknowns)
            forEachRow { k, z, start, voxels in
                let c = cosines[k], nodes = q + offsets[k], line = r + z &* width
                for a in voxels {
                    let u = Double(a) * c + start
                    let i = Int(u)
                    let w = u - Double(i)
                    nodes[i] += (1 - w) * line[a]
                    nodes[i &+ 1] += w * line[a]
                }
            }
        }

        /// The diagonal of AᵀA.
        func normalDiagonal() -> [Double] {
            var d = [Double](repeating: 0, count: unknowns)
            d.withUnsafeMutableBufferPointer { d in
                forEachRow { k, _, start, voxels in
                    let c = cosines[k], nodes = d.baseAddress! + offsets[k]
                    for a in voxels {
                        let u = Double(a) * c + start
                        let i = Int(u)
                        let w = u - Double(i)
                        nodes[i] += (1 - w) * (1 - w)
                        nodes[i &+ 1] += w * w
                    }
                }
            }
            return d
        }
    }

    /// A volume's planes perpendicular to the tilt axis: plane `p`, voxel (a, z).
    struct Planes {
        let size: Size3
        let axis: Axis
        var count: Int { axis == .y ? size.y : size.x }
        var width: Int { axis == .y ? size.x : size.y }

        @inline(__always)
        func index(plane p: Int, a: Int, z: Int) -> Int {
            axis == .y ? (z &* size.y &+ p) &* size.x &+ a : (z &* size.y &+ a) &* size.x &+ p
        }

        func gather(_ volume: UnsafePointer<Float>, plane p: Int, into out: UnsafeMutablePointer<Double>) {
            for z in 0..<size.z {
                for a in 0..<width { out[z &* width &+ a] = Double(volume[index(plane: p, a: a, z: z)]) }
            }
        }

        func scatter(_ values: UnsafePointer<Double>, plane p: Int, scale: Double, into volume: UnsafeMutablePointer<Float>) {
            for z in 0..<size.z {
                for a in 0..<width { volume[index(plane: p, a: a, z: z)] = Float(values[z &* width &+ a] * scale) }
            }
        }
    }

    // MARK: - Estimating the geometry

    /// How much of `samples` one tilt's profiles at `phase` explain alone: the energy of the
    /// least-squares fit per plane (its normal matrix is tridiagonal and shared by every plane).
    func explainedEnergy(_ samples: [[Double]], width: Int, depth: Int, radian: Double, phase: Double) -> Double {
        let basis = Basis(width: width, depth: depth, radians: [radian], phases: [(phase + 1).truncatingRemainder(dividingBy: 1)])
        let n = basis.unknowns
        var diagonal = [Double](repeating: 0, count: n), upper = [Double](repeating: 0, count: n)
        basis.forEachRow { _, _, start, voxels in
            for a in voxels {
                let u = Double(a) * basis.cosines[0] + start
                let i = Int(u)
                let w = u - Double(i)
                diagonal[i] += (1 - w) * (1 - w)
                diagonal[i + 1] += w * w
                upper[i] += (1 - w) * w
            }
        }
        let mean = diagonal.reduce(0, +) / Double(n)
        for i in 0..<n { diagonal[i] += 1e-6 * mean }
        var total = 0.0
        var q = [Double](repeating: 0, count: n)
        for plane in samples {
            plane.withUnsafeBufferPointer { v in
                q.withUnsafeMutableBufferPointer { q in basis.backProject(v.baseAddress!, into: q.baseAddress!) }
            }
            let b = q
            Self.solveTridiagonal(diagonal: diagonal, upper: upper, &q)
            for i in 0..<n { total += b[i] * q[i] }
        }
        return total
    }

    /// The phase near `around` (within ±`steps` × `spacing`) that explains the most, refined by a
    /// parabola through the best step and its neighbours.
    func bestPhase(_ samples: [[Double]], width: Int, depth: Int, radian: Double, around: Double, spacing: Double, steps: Int) -> Double {
        let values = (-steps...steps).map { explainedEnergy(samples, width: width, depth: depth, radian: radian, phase: around + Double($0) * spacing) }
        let top = (1..<(2 * steps)).max { values[$0] < values[$1] }!
        let (left, middle, right) = (values[top - 1], values[top], values[top + 1])
        let curvature = left - 2 * middle + right
        let offset = curvature < 0 ? 0.5 * (left - right) / curvature : 0
        return (around + (Double(top - steps) + offset) * spacing + 1).truncatingRemainder(dividingBy: 1)
    }

    /// What the joint fit (`profiles`, one per sample plane) leaves to tilt `k`: each sample plane
    /// minus every other tilt's fitted part.
    static func leftToTilt(_ k: Int, samples: [[Double]], profiles: [[Double]], basis: Basis) -> [[Double]] {
        let others = (0..<basis.tilts).map { $0 != k }
        return zip(samples, profiles).map { plane, q in
            var rest = [Double](repeating: 0, count: plane.count)
            rest.withUnsafeMutableBufferPointer { r in q.withUnsafeBufferPointer { basis.project($0.baseAddress!, into: r.baseAddress!, include: others) } }
            return zip(plane, rest).map { $0 - $1 }
        }
    }

    /// Each tilt's interpolation phase. First alone: the phase (steps of 0.05, then 0.01) whose
    /// profiles explain the most of the sample planes, where the other tilts are interference;
    /// then once more on what the joint fit of all tilts leaves to this one (the sample planes
    /// minus every other tilt's fitted part), which is nearly free of it.
    func estimatePhases(samples: [[Double]], width: Int, depth: Int, radians: [Double]) -> [Double] {
        var phases = radians.map { radian in
            let energies = (0..<20).map { explainedEnergy(samples, width: width, depth: depth, radian: radian, phase: Double($0) * 0.05) }
            let coarse = energies.indices.max { energies[$0] < energies[$1] }!
            return bestPhase(samples, width: width, depth: depth, radian: radian, around: Double(coarse) * 0.05, spacing: 0.01, steps: 5)
        }
        let basis = Basis(width: width, depth: depth, radians: radians, phases: phases)
        let profiles = samples.map { solve($0, basis: basis, iterations: 40).profiles }
        phases = radians.indices.map { k in
            let alone = Self.leftToTilt(k, samples: samples, profiles: profiles, basis: basis)
            return bestPhase(alone, width: width, depth: depth, radian: radians[k], around: phases[k], spacing: 0.004, steps: 4)
        }
        return phases
    }

    /// Solves a symmetric tridiagonal system in place (Thomas algorithm).
    static func solveTridiagonal(diagonal: [Double], upper: [Double], _ x: inout [Double]) {
        let n = x.count
        var c = [Double](repeating: 0, count: n)
        var d = diagonal[0]
        c[0] = upper[0] / d
        x[0] /= d
        for i in 1..<n {
            d = diagonal[i] - upper[i - 1] * c[i - 1]
            c[i] = upper[i] / d
            x[i] = (x[i] - upper[i - 1] * x[i - 1]) / d
        }
        for i in stride(from: n - 2, through: 0, by: -1) { x[i] -= c[i] * x[i + 1] }
    }

    /// Finds the tilt axis (among `axes`), the angles' sign and the phases that fit sample planes
    /// of the volume best. An axis is tried only when its planes hold at least three times as many
    /// voxels as the profiles have unknowns (fewer, and anything fits); configurations are
    /// compared by their residual relative to what unrelated data would leave,
    /// 1 − unknowns / voxels.
    ///
    /// - Parameters:
    ///   - signs: the signs of the angles to try (+1: u = a·cos θ + z·sin θ); one when the angles
    ///     come from the volume's own spectrum (``angleSearch`` then wide).
    ///   - angleSearch: how far (degrees) each angle is searched around the one given.
    public func fitGeometry(
        _ volume: UnsafePointer<Float>, size: Size3, axes: [Axis] = Axis.allCases, signs: [Double] = [1, -1], angleSearch: Double = 0.1
    ) throws -> Fit {
        try fitGeometry(PlaneSamples(volume: volume, size: size, axes: axes), axes: axes, signs: signs, angleSearch: angleSearch)
    }

    /// ``fitGeometry(_:size:axes:signs:angleSearch:)`` on the sample planes of a volume
    /// (``PlaneSamples/fitPlanes`` per axis).
    public func fitGeometry(_ sampled: PlaneSamples, axes: [Axis] = Axis.allCases, signs: [Double] = [1, -1], angleSearch: Double = 0.1) throws -> Fit {
        let size = sampled.size
        var best: (fit: Fit, score: Double, samples: [[Double]])?
        for axis in axes {
            let planes = Planes(size: size, axis: axis)
            let radians = angles.degrees.map { $0 * .pi / 180 }
            let unknowns = Basis(width: planes.width, depth: size.z, radians: radians, phases: radians.map { _ in 0 }).unknowns
            let voxels = planes.width * size.z
            guard 3 * unknowns <= voxels else { continue }
            let samples: [[Double]] = PlaneSamples.indices(count: planes.count, wanted: PlaneSamples.fitPlanes).map { p in
                sampled.plane(p, axis: axis).map(Double.init)
            }
            for sign in signs {
                let signed = radians.map { sign * $0 }
                let phases = estimatePhases(samples: samples, width: planes.width, depth: size.z, radians: signed)
                let basis = Basis(width: planes.width, depth: size.z, radians: signed, phases: phases)
                var residual = 0.0, total = 0.0
                for plane in samples {
                    let (r, t) = solve(plane, basis: basis, iterations: 40).residual
                    residual += r
                    total += t
                }
                let fraction = total > 0 ? residual / total : 0
                let fit = Fit(axis: axis, sign: sign, phases: phases, degrees: angles.degrees, residual: fraction.squareRoot())
                let score = fraction / (1 - Double(basis.unknowns) / Double(voxels))
                if best == nil || score < best!.score { best = (fit, score, samples) }
            }
        }
        guard let best else {
            throw FilterError.unsupported(
                source: "split-tilts", what: "a volume of \(size) voxels: its planes across the tilt axis are too small for \(angles.degrees.count) tilt profiles",
                hint: "planes across the tilt axis need at least 3 times as many voxels as tilts × (width + depth)")
        }
        let width = Planes(size: size, axis: best.fit.axis).width
        var fit = refineAngles ? refine(best.fit, samples: best.samples, width: width, depth: size.z, search: angleSearch) : best.fit
        // A whole field of view: each projection ends at the volume's edges.
        var edged = fit
        edged.edges = true
        edged.residual = residual(of: edged, samples: best.samples, width: width, depth: size.z)
        if edged.residual < fit.residual { fit = edged }
        return fit
    }

    /// ‖v − A q‖ / ‖v‖ of `fit` over `samples`.
    func residual(of fit: Fit, samples: [[Double]], width: Int, depth: Int) -> Double {
        let basis = Basis(width: width, depth: depth, radians: fit.degrees.map { fit.sign * $0 * .pi / 180 }, phases: fit.phases, edges: fit.edges, depthOffset: fit.depthOffset)
        var residual = 0.0, total = 0.0
        for plane in samples {
            let (r, t) = solve(plane, basis: basis, iterations: 40).residual
            residual += r
            total += t
        }
        return total > 0 ? (residual / total).squareRoot() : 0
    }

    /// Whether ``fitGeometry(_:size:axes:signs:angleSearch:)`` refines each angle on the volume.
    public var refineAngles = true

    /// Refines each tilt's angle (within ±`search` degrees, to about 0.002°) and phase on what the
    /// joint fit of all tilts leaves to it, twice (the second time close around the first), and
    /// measures the residual again.
    func refine(_ fit: Fit, samples: [[Double]], width: Int, depth: Int, search: Double) -> Fit {
        var fit = fit
        // Grids of (spacing, steps each side), coarse to fine, for each round.
        let first: [(Double, Int)] = (search > 0.1 ? [(0.1, Int((search / 0.1).rounded(.up)))] : []) + [(0.02, 4), (0.005, 3)]
        for grids in [first, [(0.01, 2), (0.003, 2)]] {
            let radians = fit.degrees.map { fit.sign * $0 * .pi / 180 }
            let basis = Basis(width: width, depth: depth, radians: radians, phases: fit.phases)
            let profiles = samples.map { solve($0, basis: basis, iterations: 40).profiles }
            var next = fit
            for k in radians.indices {
                let alone = Self.leftToTilt(k, samples: samples, profiles: profiles, basis: basis)
                // The best phase and its energy at an angle offset (degrees).
                func best(at offset: Double) -> (phase: Double, energy: Double) {
                    let radian = radians[k] + fit.sign * offset * .pi / 180
                    let energies = (0..<20).map { explainedEnergy(alone, width: width, depth: depth, radian: radian, phase: Double($0) * 0.05) }
                    let coarse = energies.indices.max { energies[$0] < energies[$1] }!
                    let phase = bestPhase(alone, width: width, depth: depth, radian: radian, around: Double(coarse) * 0.05, spacing: 0.01, steps: 3)
                    return (phase, explainedEnergy(alone, width: width, depth: depth, radian: radian, phase: phase))
                }
                var bestOffset = 0.0
                var bestValue = best(at: 0)
                for (spacing, steps) in grids {
                    let centre = bestOffset
                    for step in -steps...steps where step != 0 {
                        let offset = centre + Double(step) * spacing
                        let value = best(at: offset)
                        if value.energy > bestValue.energy { (bestOffset, bestValue) = (offset, value) }
                    }
                }
                next.degrees[k] = fit.degrees[k] + bestOffset
                next.phases[k] = bestValue.phase
            }
            fit = next
        }
        fit.residual = residual(of: fit, samples: samples, width: width, depth: depth)
        return fit
    }

    // MARK: - Solving

    struct PlaneSolution {
        /// The per-tilt profiles.
        var profiles: [Double]
        /// (‖v − A q‖², ‖v‖²).
        var residual: (Double, Double)
    }

    /// Least-squares profiles of one plane by preconditioned conjugate gradients.
    func solve(_ plane: [Double], basis: Basis, iterations: Int) -> PlaneSolution {
        let n = basis.unknowns
        let diagonal = basis.normalDiagonal()
        let lambda = ridge * diagonal.reduce(0, +) / Double(n)
        var x = [Double](repeating: 0, count: n), r = x, z = x, p = x, ap = x
        var work = [Double](repeating: 0, count: plane.count)
        plane.withUnsafeBufferPointer { v in r.withUnsafeMutableBufferPointer { basis.backProject(v.baseAddress!, into: $0.baseAddress!) } }
        let bNorm = r.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var rz = 0.0
        for i in 0..<n { z[i] = r[i] / (diagonal[i] + lambda); p[i] = z[i]; rz += r[i] * z[i] }
        if bNorm > 0 {
            for _ in 0..<iterations {
                work.withUnsafeMutableBufferPointer { w in
                    w.update(repeating: 0)
                    p.withUnsafeBufferPointer { basis.project($0.baseAddress!, into: w.baseAddress!) }
                    ap.withUnsafeMutableBufferPointer { basis.backProject(w.baseAddress!, into: $0.baseAddress!) }
                }
                var pap = 0.0
                for i in 0..<n { ap[i] += lambda * p[i]; pap += p[i] * ap[i] }
                guard pap > 0 else { break }
                let alpha = rz / pap
                var rr = 0.0
                for i in 0..<n { x[i] += alpha * p[i]; r[i] -= alpha * ap[i]; rr += r[i] * r[i] }
                if rr.squareRoot() < 1e-6 * bNorm { break }
                var rzNext = 0.0
                for i in 0..<n { z[i] = r[i] / (diagonal[i] + lambda); rzNext += r[i] * z[i] }
                let beta = rzNext / rz
                rz = rzNext
                for i in 0..<n { p[i] = z[i] + beta * p[i] }
            }
        }
        work.withUnsafeMutableBufferPointer { w in
            w.update(repeating: 0)
            x.withUnsafeBufferPointer { basis.project($0.baseAddress!, into: w.baseAddress!) }
        }
        var residual = 0.0, total = 0.0
        for i in plane.indices { let e = plane[i] - work[i]; residual += e * e; total += plane[i] * plane[i] }
        return PlaneSolution(profiles: x, residual: (residual, total))
    }

    /// Writes the sub-tomograms of the even- and odd-numbered tilts (in angle order), each scaled
    /// by 2 so that it is a reconstruction at the input's scale, and returns the residual over
    /// every plane. Planes run in parallel.
    public func split(
        _ volume: UnsafePointer<Float>, size: Size3, fit: Fit,
        first: UnsafeMutablePointer<Float>, second: UnsafeMutablePointer<Float>,
        progress: ((Int) -> Void)? = nil
    ) -> Double {
        let planes = Planes(size: size, axis: fit.axis)
        let radians = fit.degrees.map { fit.sign * $0 * .pi / 180 }
        let basis = Basis(width: planes.width, depth: size.z, radians: radians, phases: fit.phases, edges: fit.edges, depthOffset: fit.depthOffset)
        let even = radians.indices.map { $0 % 2 == 0 }, odd = even.map { !$0 }
        var residuals = [(Double, Double)](repeating: (0, 0), count: planes.count)
        let lock = NSLock()
        var done = 0
        residuals.withUnsafeMutableBufferPointer { residuals in
            let residualsBase = residuals.baseAddress!
            Parallel.forEachChunk(planes.count) { range in
                var plane = [Double](repeating: 0, count: planes.width * size.z)
                var half = plane
                for p in range {
                    plane.withUnsafeMutableBufferPointer { planes.gather(volume, plane: p, into: $0.baseAddress!) }
                    let solution = solve(plane, basis: basis, iterations: iterations)
                    residualsBase[p] = solution.residual
                    for (include, out) in [(even, first), (odd, second)] {
                        half.withUnsafeMutableBufferPointer { h in
                            h.update(repeating: 0)
                            solution.profiles.withUnsafeBufferPointer { basis.project($0.baseAddress!, into: h.baseAddress!, include: include) }
                            planes.scatter(h.baseAddress!, plane: p, scale: 2, into: out)
                        }
                    }
                    lock.lock(); done += 1; let now = done; lock.unlock()
                    progress?(now)
                }
            }
        }
        let residual: Double = residuals.reduce(0) { $0 + $1.0 }
        let total: Double = residuals.reduce(0) { $0 + $1.1 }
        return total > 0 ? (residual / total).squareRoot() : 0
    }
}
