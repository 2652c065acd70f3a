import FilterKit
import Foundation
import Testing
import Tomography

@Suite("HalfSpectrumWiener: the signal spectrum measured between two independent halves")
struct HalfSpectrumWienerTests {
    static let size = Size3(x: 48, y: 40, z: 32)

    /// A smooth signal (a few low-frequency waves along every axis, plus an offset) and two
    /// halves of it with independent white noise of standard deviation `noise`.
    static func halves(noise: Double, signal amplitude: Double = 1) -> (signal: [Float], first: [Float], second: [Float]) {
        let size = Self.size
        var normals = BackProjectionSplitTests.Normals(state: 5)
        var signal = [Float](), first = [Float](), second = [Float]()
        for z in 0..<size.z {
            for y in 0..<size.y {
                for x in 0..<size.x {
                    let (fx, fy, fz) = (Double(x) / Double(size.x), Double(y) / Double(size.y), Double(z) / Double(size.z))
                    let s = amplitude * (cos(2 * .pi * (2 * fx + fz)) + 0.7 * sin(2 * .pi * (3 * fy - fx)) + 0.5 * cos(2 * .pi * (fz + 2 * fy))) + 3
                    signal.append(Float(s))
                    first.append(Float(s + noise * normals.next()))
                    second.append(Float(s + noise * normals.next()))
                }
            }
        }
        return (signal, first, second)
    }

    static func rms(_ a: [Float], _ b: [Float]) -> Double {
        (zip(a, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } / Double(a.count)).squareRoot()
    }

    @Test("the mean of two noisy halves filtered with their shared spectrum is close to the signal")
    func keepsTheSharedSignal() throws {
        var (signal, first, second) = Self.halves(noise: 2)
        var mean = zip(first, second).map { ($0 + $1) / 2 }
        let before = Self.rms(mean, signal)
        let wiener = try HalfSpectrumWiener(first: &first, second: &second, size: Self.size)
        #expect(first.isEmpty && second.isEmpty, "the halves are released once transformed")
        let summary = try wiener.filter(&mean)
        let after = Self.rms(mean, signal)
        // White noise of σ 2/√2 spread over all 61,440 frequencies, the signal in 6 of them: most
        // of the noise goes; what remains is in the signal's bins (about 15 frequencies each)
        // and chance agreement (measured: 0.18 of the error before).
        #expect(after < 0.25 * before, "rms error \(before) → \(after)")
        #expect(summary.signalShare > 0.1 && summary.signalShare < 0.4, "signal share \(summary.signalShare)")
        let average = mean.reduce(0.0) { $0 + Double($1) } / Double(mean.count)
        #expect(abs(average - 3) < 0.05, "the mean is kept: \(average)")
    }

    @Test("halves that share no signal leave only the mean")
    func removesWhatIsNotShared() throws {
        var (_, first, second) = Self.halves(noise: 1, signal: 0)
        var mean = zip(first, second).map { ($0 + $1) / 2 }
        let wiener = try HalfSpectrumWiener(first: &first, second: &second, size: Self.size)
        try wiener.filter(&mean)
        let average = mean.reduce(0.0) { $0 + Double($1) } / Double(mean.count)
        let spread = (mean.reduce(0.0) { $0 + (Double($1) - average) * (Double($1) - average) } / Double(mean.count)).squareRoot()
        // The noise of the mean has σ 0.71; chance agreement of the halves keeps a little of it.
        #expect(spread < 0.15, "left: σ \(spread)")
        #expect(abs(average - 3) < 0.02)
    }
}

/// Records what a ``SplitRefiner`` is given and returns the volume unchanged.
final class IdentityRefiner: SplitRefiner {
    let description = "the identity"
    let memoryBytes = 0
    private(set) var given: [[Float]] = []
    func denoise(first: [Float], second: [Float], volume: [Float], size: Size3) throws -> [Float] {
        given = [first, second, volume]
        return volume
    }
}

@Suite("HalfSpectrumWiener.refine: a refiner away from the band along the tilt axis")
struct AxisBandRefinementTests {
    /// The least-squares amplitude of `wave(x, y, z)` (fractions of the size) in `values`.
    static func amplitude(of wave: (Double, Double, Double) -> Double, in values: [Float]) -> Double {
        let size = HalfSpectrumWienerTests.size
        var (dot, norm, i) = (0.0, 0.0, 0)
        for z in 0..<size.z {
            for y in 0..<size.y {
                for x in 0..<size.x {
                    let w = wave(Double(x) / Double(size.x), Double(y) / Double(size.y), Double(z) / Double(size.z))
                    dot += w * Double(values[i])
                    norm += w * w
                    i += 1
                }
            }
        }
        return dot / norm
    }

    @Test("the band: at most one bin off the tilt axis across it, from the second bin along it")
    func band() {
        #expect(HalfSpectrumWiener.inAxisBand(z: 0, y: 5, x: 1, axis: .y) && HalfSpectrumWiener.inAxisBand(z: 1, y: 2, x: 0, axis: .y))
        #expect(!HalfSpectrumWiener.inAxisBand(z: 1, y: 5, x: 1, axis: .y) && !HalfSpectrumWiener.inAxisBand(z: 0, y: 1, x: 0, axis: .y))
        #expect(HalfSpectrumWiener.inAxisBand(z: 0, y: 1, x: 7, axis: .x) && !HalfSpectrumWiener.inAxisBand(z: 0, y: 1, x: 7, axis: .y))
    }

    @Test("the refiner gets the halves and the volume without the band; the band comes back filtered, at 0.3 of its amplitude")
    func refine() throws {
        let size = HalfSpectrumWienerTests.size
        var (_, first, second) = HalfSpectrumWienerTests.halves(noise: 0.5)
        var volume = zip(first, second).map { ($0 + $1) / 2 }
        // The signal's waves (HalfSpectrumWienerTests.halves): the second lies in the band along Y
        // (3 cycles along Y, 1 along X: bins y 2, x 0, z 0); the first does not.
        let outside = { (x: Double, y: Double, z: Double) in cos(2 * .pi * (2 * x + z)) }
        let inBand = { (x: Double, y: Double, z: Double) in sin(2 * .pi * (3 * y - x)) }
        #expect(abs(Self.amplitude(of: inBand, in: volume) - 0.7) < 0.05)
        let refiner = IdentityRefiner()
        _ = try HalfSpectrumWiener.refine(volume: &volume, first: &first, second: &second, size: size, bins: 16, axis: .y, refiner: refiner)
        #expect(first.isEmpty && second.isEmpty)
        try #require(refiner.given.count == 3)
        for (name, given) in zip(["first half", "second half", "volume"], refiner.given) {
            #expect(abs(Self.amplitude(of: inBand, in: given)) < 0.01, "\(name): the band wave is left in")
            #expect(abs(Self.amplitude(of: outside, in: given) - 1) < 0.05, "\(name): the wave outside the band is changed")
        }
        // Output: the refiner's (here the volume without the band) plus the band, filtered (a
        // gain near 1 on this strong wave) and weighted by 0.3.
        #expect(abs(Self.amplitude(of: outside, in: volume) - 1) < 0.05)
        let band = Self.amplitude(of: inBand, in: volume)
        let weight = Double(HalfSpectrumWiener.defaultBandWeight)
        #expect(HalfSpectrumWiener.defaultBandWeight == 0.3)
        #expect(band > 0.8 * weight * 0.7 && band <= weight * 0.7 + 0.01, "band wave: \(band) of 0.7")
    }
}

@Suite("TiltSplit: a detected comb extended to a symmetric range")
struct SymmetricExtensionTests {
    @Test("the shorter side is extended to mirror the longer one; a symmetric grid is left alone")
    func extendsTheShorterSide() throws {
        // The bin-2 reconstruction of the real series: the two lowest tilts' peaks were too faint.
        let detected = (0..<19).map { -47.9 + 6 * Double($0) }
        let extended = try #require(TiltSplit.symmetricExtension(of: detected))
        #expect(extended.count == 21 && abs(extended[0] + 59.9) < 1e-9 && extended.last == detected.last)
        #expect(TiltSplit.symmetricExtension(of: (0..<21).map { -60 + 6 * Double($0) }) == nil)
        #expect(TiltSplit.symmetricExtension(of: [-9, -6, -3, 0, 3, 6, 9, 12]) == [-12, -9, -6, -3, 0, 3, 6, 9, 12])
        // Never past 80°.
        let wide = try #require(TiltSplit.symmetricExtension(of: (0..<18).map { -85 + 5 * Double($0) }))
        #expect(wide.last == 80)
    }
}
