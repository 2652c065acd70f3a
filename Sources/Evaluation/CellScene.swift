import FilterKit
#if canImport(Glibc)
import Glibc
#endif

/// The content of a synthetic cellular tomogram, a pure function of the seed and the volume:
/// an ice slab with vacuum above and below, an organelle membrane, vesicles, actin filaments
/// and microtubules, ribosome- and proteasome-like particles, and crowding proteins.
///
/// Large objects are listed up front (a few thousand even for a 20 GB volume); particles and
/// crowding proteins come from a jittered grid of cells, each cell's content drawn from a
/// random stream keyed to its coordinates, so any Z range is drawn without a list of them all.
struct CellScene: Sendable {
    let size: Size3
    /// Ice spans sections `iceLower ..< iceUpper` (fractional, in voxels).
    let iceLower: Double, iceUpper: Double
    private let listed: [Feature]
    private let populations: [Population]
    private let seed: UInt64

    /// Density units: protein 1, lipid head groups 0.6 (each leaflet), vacuum −2 (relative to ice).
    /// Objects exist only in the ice (a membrane crossing a lamella ends at its surfaces).
    static let vacuumDensity = -2.0
    /// Width of the ice surface, Å.
    static let surfaceWidth = 15.0

    /// Particles placed at most one per cell of a grid.
    private struct Population: Sendable {
        let stream: UInt64
        /// Cell side in voxels.
        let cell: Double
        /// Chance that a cell holds a particle.
        let occupancy: Double
        /// How far a particle reaches from its centre, voxels.
        let reach: Double
        /// How far the centre stays from the ice surfaces, voxels.
        let inset: Double
        /// The particle's parts for a random stream and a centre.
        let make: @Sendable (RandomStream, SIMD3<Double>) -> [Feature]
    }

    init(settings s: PhantomSettings) {
        size = s.size
        seed = s.seed
        let a = s.voxelSize
        let nz = Double(s.size.z)
        let iceLower = nz * (1 - s.iceFraction) / 2, iceUpper = nz - iceLower
        self.iceLower = iceLower
        self.iceUpper = iceUpper
        let thickness = iceUpper - iceLower
        let (nx, ny) = (Double(s.size.x), Double(s.size.y))
        let random = RandomStream(seed: s.seed, stream: 0x5C3E)
        var listed: [Feature] = []
        /// `expected` draws, the fraction decided by a random number (so tiny volumes get some).
        func count(_ expected: Double, _ key: UInt64) -> Int {
            Int(expected) + (random.uniform(key) < Float(expected - expected.rounded(.down)) ? 1 : 0)
        }
        let xyArea = nx * ny * a * a
        let iceVolume = xyArea * thickness * a

        // Organelle membranes: a sphere much larger than the field of view, crossing it.
        for i in 0..<max(1, count(xyArea / (8000 * 8000), 1)) {
            let r = random.child(100 + UInt64(i))
            let radius = 0.9 * max(nx, ny)
            let side = r.bits(0) & 1 == 0 ? -1.0 : 1.0
            let cx = nx / 2 + side * (radius - CellScene.uniform(r, 1, 0.15, 0.35) * nx)
            let center = SIMD3(cx, CellScene.uniform(r, 2, 0, ny), (iceLower + iceUpper) / 2 + CellScene.uniform(r, 3, -0.2, 0.2) * thickness)
            listed.append(Feature(center: center, shape: .bilayer(radius: radius, leaflet: 20 / a, sigma: 7 / a), density: 0.6))
        }
        // Vesicles, inside the ice.
        let largestVesicle = max(60 / a, thickness / 2 - 40 / a)
        for i in 0..<count(iceVolume / (700 * 700 * 700), 2) {
            let r = random.child(1000 + UInt64(i))
            let radius = min(CellScene.uniform(r, 0, 150, 350) / a, largestVesicle)
            let zRoom = max(0, thickness / 2 - radius - 30 / a)
            let center = SIMD3(CellScene.uniform(r, 1, 0, nx), CellScene.uniform(r, 2, 0, ny), (iceLower + iceUpper) / 2 + CellScene.uniform(r, 3, -zRoom, zRoom))
            listed.append(Feature(center: center, shape: .bilayer(radius: radius, leaflet: 20 / a, sigma: 7 / a), density: 0.6))
        }
        // Filaments: nearly parallel to the ice surfaces, as in thin lamellae.
        func filament(_ r: RandomStream, length: ClosedRange<Double>, inner: Double, outer: Double) -> Feature {
            let l = CellScene.uniform(r, 0, length.lowerBound, length.upperBound) / a
            let azimuth = CellScene.uniform(r, 1, 0, 2 * Double.pi), elevation = CellScene.uniform(r, 2, -0.17, 0.17)
            let zRoom = max(0, thickness / 2 - outer - 20 / a)
            let start = SIMD3(CellScene.uniform(r, 3, 0, nx), CellScene.uniform(r, 4, 0, ny), (iceLower + iceUpper) / 2 + CellScene.uniform(r, 5, -zRoom, zRoom))
            var end = start + l * SIMD3(cos(azimuth) * cos(elevation), sin(azimuth) * cos(elevation), sin(elevation))
            end.z = min(max(end.z, iceLower + outer + 10 / a), iceUpper - outer - 10 / a)
            return Feature(center: start, shape: .rod(end: end, inner: inner, outer: outer), density: 1)
        }
        for i in 0..<count(xyArea / (700 * 700), 3) {
            listed.append(filament(random.child(10_000 + UInt64(i)), length: 1500...6000, inner: 0, outer: 35 / a))
        }
        for i in 0..<count(xyArea / (2500 * 2500), 4) {
            listed.append(filament(random.child(20_000 + UInt64(i)), length: 3000...20000, inner: 85 / a, outer: 125 / a))
        }
        self.listed = listed

        populations = [
            // Ribosomes: a large and a small subunit.
            Population(stream: 1, cell: 400 / a, occupancy: 0.5, reach: 200 / a, inset: 110 / a) { r, c in
                let d = CellScene.direction(r, 10)
                return [Feature(center: c, shape: .ball(radius: 110 / a), density: 1),
                        Feature(center: c + (100 / a) * d, shape: .ball(radius: 80 / a), density: 1)]
            },
            // Proteasome-like barrels with a channel.
            Population(stream: 2, cell: 500 / a, occupancy: 0.4, reach: 150 / a, inset: 60 / a) { r, c in
                let half = (75 / a) * CellScene.direction(r, 10)
                return [Feature(center: c - half, shape: .rod(end: c + half, inner: 15 / a, outer: 55 / a), density: 1)]
            },
            // Crowding: small proteins everywhere in the ice.
            Population(stream: 3, cell: 120 / a, occupancy: 0.7, reach: 45 / a, inset: 30 / a) { r, c in
                [Feature(center: c, shape: .ball(radius: CellScene.uniform(r, 10, 20, 40) / a), density: 0.6)]
            },
        ]
    }

    /// A uniform value in [lo, hi) from draw `i` of `r`.
    private static func uniform(_ r: RandomStream, _ i: UInt64, _ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * Double(r.uniform(i))
    }

    /// A random unit vector from draws `i` and `i + 1` of `r`.
    private static func direction(_ r: RandomStream, _ i: UInt64) -> SIMD3<Double> {
        let z = CellScene.uniform(r, i, -1, 1), phi = CellScene.uniform(r, i + 1, 0, 2 * Double.pi)
        let s = (1 - z * z).squareRoot()
        return SIMD3(s * cos(phi), s * sin(phi), z)
    }

    /// How much of section `z` is ice (1 inside, 0 in the vacuum, smooth at the surfaces).
    func ice(_ z: Int) -> Float {
        let w = CellScene.surfaceWidth / 2
        let zf = Double(z)
        return Float(0.5 * (tanh((zf - iceLower) / w) - tanh((zf - iceUpper) / w)))
    }

    /// Every feature that may add to a section of `sections`.
    func features(overlapping sections: Range<Int>) -> [Feature] {
        let (lo, hi) = (Double(sections.lowerBound), Double(sections.upperBound - 1))
        var found = listed.filter { $0.upper.z >= lo && $0.lower.z <= hi }
        for population in populations {
            let c = population.cell
            let stream = RandomStream(seed: seed, stream: 0xCE11 &+ population.stream)
            let izLow = Int(((max(lo, iceLower) - population.reach) / c).rounded(.down))
            let izHigh = Int(((min(hi, iceUpper) + population.reach) / c).rounded(.down))
            guard izLow <= izHigh else { continue }
            let cellsX = Int((Double(size.x) / c).rounded(.up)), cellsY = Int((Double(size.y) / c).rounded(.up))
            for iz in izLow...izHigh {
                for iy in 0..<cellsY {
                    for ix in 0..<cellsX {
                        let key = UInt64(bitPattern: Int64(iz)) << 42 ^ UInt64(iy) << 21 ^ UInt64(ix)
                        let r = stream.child(key)
                        guard Double(r.uniform(0)) < population.occupancy else { continue }
                        let center = SIMD3(
                            (Double(ix) + Double(r.uniform(1))) * c, (Double(iy) + Double(r.uniform(2))) * c,
                            (Double(iz) + Double(r.uniform(3))) * c)
                        // Inside the ice with room for the particle, and near these sections.
                        guard center.z - population.inset >= iceLower, center.z + population.inset <= iceUpper,
                              center.z + population.reach >= lo, center.z - population.reach <= hi else { continue }
                        found += population.make(r, center).filter { $0.upper.z >= lo && $0.lower.z <= hi }
                    }
                }
            }
        }
        return found
    }
}
