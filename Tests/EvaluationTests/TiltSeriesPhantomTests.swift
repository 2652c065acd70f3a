import XCTest
import FilterKit
@testable import Evaluation

/// The back-projected phantom: its projector pair, its reconstruction and its statistics.
final class TiltSeriesPhantomTests: XCTestCase {
    /// Random values in [−1, 1) from a seeded stream.
    private func random(_ count: Int, stream: UInt64) -> [Float] {
        let r = RandomStream(seed: 3, stream: stream)
        return (0..<count).map { 2 * r.uniform(UInt64($0)) - 1 }
    }

    /// ⟨P v, p⟩ = ⟨v, Pᵀ p⟩: the projection is the exact transpose of the back-projection, for
    /// any angle, an off-centre axis and rays that leave the detector.
    func testProjectionIsTheBackProjectionsAdjoint() {
        let angles = [-57.0, -21.5, 0, 3, 44.9, 60]
        let beam = ParallelBeam(width: 23, rows: 3, depth: 14, angles: angles, axisOffset: 2.7)
        let voxels = beam.width * beam.rows * beam.depth
        var volume = random(voxels, stream: 1), images = random(angles.count * beam.imageValues, stream: 2)
        var projected = [Float](repeating: 0, count: images.count), backProjected = [Float](repeating: 0, count: voxels)
        volume.withUnsafeMutableBufferPointer { v in
            beam.project(sections: 0..<beam.depth, values: v.baseAddress!, into: &projected)
        }
        images.withUnsafeMutableBufferPointer { p in
            backProjected.withUnsafeMutableBufferPointer { out in
                beam.backProject(images: p.baseAddress!, tilts: Array(angles.indices), sections: 0..<beam.depth, into: out.baseAddress!)
            }
        }
        let left = zip(projected, images).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let right = zip(volume, backProjected).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        XCTAssertEqual(left, right, accuracy: 1e-5 * abs(left))
        // Not trivially zero: most rays land on the detector.
        XCTAssertGreaterThan(projected.filter { $0 != 0 }.count, images.count / 2)
    }

    /// The same projection, slab by slab, as in one piece (the phantom projects slabs).
    func testProjectionOfSlabsAddsUp() {
        let beam = ParallelBeam(width: 16, rows: 2, depth: 12, angles: [-40, 10, 35])
        let volume = random(16 * 2 * 12, stream: 4)
        var whole = [Float](repeating: 0, count: 3 * beam.imageValues), slabs = whole
        volume.withUnsafeBufferPointer { v in
            beam.project(sections: 0..<12, values: v.baseAddress!, into: &whole)
            for z0 in stride(from: 0, to: 12, by: 5) {
                let sections = z0..<min(12, z0 + 5)
                beam.project(sections: sections, values: v.baseAddress! + z0 * beam.imageValues, into: &slabs)
            }
        }
        for (a, b) in zip(whole, slabs) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    private func settings(size: Size3 = Size3(x: 48, y: 12, z: 24), dose: Double = 2.93) -> TiltSeriesPhantom.Settings {
        var s = TiltSeriesPhantom.Settings()
        s.phantom.size = size
        s.phantom.seed = 5
        s.scheme.first = -60
        s.scheme.last = 60
        s.scheme.step = 6
        s.scheme.dosePerTilt = dose
        return s
    }

    private func volumes(_ phantom: TiltSeriesPhantom, _ which: Set<TiltSeriesPhantom.Volume>) throws -> [TiltSeriesPhantom.Volume: [Float]] {
        var out: [TiltSeriesPhantom.Volume: [Float]] = [:]
        try phantom.generate(volumes: which) { volume, sections, values in
            out[volume, default: []] += UnsafeBufferPointer(start: values, count: sections.count * phantom.info.size.sectionVoxels)
        }
        return out
    }

    private func standardised(_ v: [Double]) -> [Double] {
        let mean = v.reduce(0, +) / Double(v.count)
        let sd = (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)).squareRoot()
        return v.map { ($0 - mean) / sd }
    }

    private func correlation(_ a: [Float], _ b: [Float]) -> Double {
        let x = standardised(a.map(Double.init)), y = standardised(b.map(Double.init))
        return zip(x, y).reduce(0) { $0 + $1.0 * $1.1 } / Double(x.count)
    }

    /// The noise-free reconstruction is the sum over tilts of each filtered image read at the
    /// voxel's detector position (written out here in double precision), standardised.
    func testNoiseFreeReconstructionIsTheSumOverTilts() throws {
        let s = settings()
        let phantom = try TiltSeriesPhantom(settings: s)
        let images = try phantom.tiltImages()
        let (nx, ny, nz) = (s.phantom.size.x, s.phantom.size.y, s.phantom.size.z)
        var direct = [Double](repeating: 0, count: nx * ny * nz)
        let centre = Double(nx - 1) / 2
        for (t, angle) in s.scheme.angles.enumerated() {
            let (c, sn) = (cos(angle * .pi / 180), sin(angle * .pi / 180))
            for z in 0..<nz {
                for y in 0..<ny {
                    for x in 0..<nx {
                        let u = (Double(x) - centre) * c + (Double(z) - Double(nz - 1) / 2) * sn + centre
                        guard u >= 0 && u <= Double(nx - 1) else { continue }
                        let u0 = min(Int(u.rounded(.down)), nx - 2), w = u - Double(u0)
                        let row = images.signal + (t * ny + y) * nx
                        direct[(z * ny + y) * nx + x] += Double(row[u0]) * (1 - w) + Double(row[u0 + 1]) * w
                    }
                }
            }
        }
        let made = try volumes(phantom, [.noiseFree])[.noiseFree]!
        let expected = standardised(direct)
        XCTAssertEqual(made.count, expected.count)
        let worst = zip(made, expected).map { abs(Double($0) - $1) }.max()!
        XCTAssertLessThan(worst, 1e-3)
    }

    /// Dose-symmetric order: 0° first, then two tilts on one side, two on the other.
    func testDoseSymmetricOrderAndCounts() throws {
        var scheme = TiltScheme()
        (scheme.first, scheme.last, scheme.step) = (-9, 9, 3)
        // Angles −9 −6 −3 0 3 6 9 are taken as 0, 3, 6, −3, −6, 9, −9.
        XCTAssertEqual(scheme.acquisitionIndex, [6, 4, 3, 0, 1, 2, 5])
        XCTAssertEqual(scheme.priorDose[3], 0)
        XCTAssertEqual(scheme.priorDose[0], 6 * scheme.dosePerTilt, accuracy: 1e-12)
        scheme.order = .sequential
        XCTAssertEqual(scheme.acquisitionIndex, Array(0..<7))

        let s = settings()
        let counts = try TiltSeriesPhantom(settings: s).counts
        let ice = s.phantom.iceFraction * Double(s.phantom.size.z) * s.phantom.voxelSize
        XCTAssertEqual(counts[10], s.scheme.dosePerTilt * 100 * exp(-ice / s.meanFreePath), accuracy: 1e-9)   // 0°
        XCTAssertEqual(counts[0], s.scheme.dosePerTilt * 100 * exp(-2 * ice / s.meanFreePath), accuracy: 1e-9) // −60°: twice the path
    }

    /// Each volume is standardised; the noise falls as 1/dose (the correlation with the
    /// noise-free reconstruction follows from the signal-to-noise ratio); each frame half holds
    /// twice the noise of the full data and the halves' noise is independent.
    func testNoiseFollowsTheDose() throws {
        let size = Size3(x: 64, y: 16, z: 32)
        let low = try volumes(TiltSeriesPhantom(settings: settings(size: size, dose: 1)), [.full, .noiseFree, .evenFrames, .oddFrames])
        let high = try volumes(TiltSeriesPhantom(settings: settings(size: size, dose: 4)), [.full, .noiseFree])
        for (_, v) in low {
            let d = v.map(Double.init), mean = d.reduce(0, +) / Double(d.count)
            XCTAssertEqual(mean, 0, accuracy: 1e-4)
            XCTAssertEqual((d.reduce(0) { $0 + $1 * $1 } / Double(d.count)).squareRoot(), 1, accuracy: 1e-3)
        }
        let c1 = correlation(low[.full]!, low[.noiseFree]!), c4 = correlation(high[.full]!, high[.noiseFree]!)
        // SNR = c²/(1 − c²); four times the dose: four times the SNR (the exposure filter and the
        // per-tilt scale change it a little).
        let snr1 = c1 * c1 / (1 - c1 * c1), snr4 = c4 * c4 / (1 - c4 * c4)
        XCTAssertEqual(snr4 / snr1, 4, accuracy: 0.6)
        // Frame halves: half the SNR each; their noise independent, so their correlation is SNR/2 /(1 + SNR/2).
        let half = snr1 / 2
        XCTAssertEqual(correlation(low[.evenFrames]!, low[.oddFrames]!), half / (1 + half), accuracy: 0.03)
        XCTAssertEqual(correlation(low[.evenFrames]!, low[.noiseFree]!), (half / (1 + half)).squareRoot(), accuracy: 0.03)
    }

    /// The SIRT-like filter is the ramp at the lowest frequency and falls below it as n
    /// iterations of SIRT leave it (1 − (1 − f₁/f)ⁿ), the WBP's fall-off on top.
    func testSIRTLikeFilterDampsHighFrequencies() throws {
        var s = settings()
        let wbp = try TiltSeriesPhantom(settings: s)
        s.reconstruction = .sirtLike
        s.sirtIterations = 10
        let sirt = try TiltSeriesPhantom(settings: s)
        let first = 1.0 / 64
        XCTAssertEqual(sirt.radialWeight(first, first: first), wbp.radialWeight(first, first: first))
        XCTAssertEqual(sirt.radialWeight(0, first: first), wbp.radialWeight(0, first: first))
        var previous = 1.0
        for f in stride(from: 2 * first, through: 0.5, by: first) {
            let ratio = Double(sirt.radialWeight(f, first: first) / wbp.radialWeight(f, first: first))
            XCTAssertEqual(ratio, 1 - pow(1 - first / f, 10), accuracy: 1e-5)
            XCTAssertLessThan(ratio, previous)
            previous = ratio
        }
        XCTAssertLessThan(previous, 0.35)
    }
}
