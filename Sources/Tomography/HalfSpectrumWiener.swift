import CFFTW
import FFTSupport
import FilterKit
import Foundation

/// A Wiener filter whose signal spectrum is measured between two independent halves.
///
/// Two reconstructions of the same specimen from different exposures (even and odd tilts, or the
/// two halves ``BackProjectionSplit`` recovers from one back-projection) share their signal and
/// not their noise, so the real part of their cross-spectrum, `Re(F₁·F₂*)`, estimates the signal's
/// power at each frequency without a model of either (as the FSC between half-maps does in
/// single-particle cryo-EM). Summed over bins of (|kz|, |ky|, |kx|), less the standard error of
/// that sum under independent noise, and divided by the power of the volume to filter, it gives
/// the Wiener gain `S / (S + N)` of each bin, clamped to [0, 1]:
/// the filter keeps what the two halves agree on, per direction and frequency, whatever the
/// noise's correlation. The mean (k = 0) is kept as it is.
///
/// On the real tilt series (the benchmark crop's even half) the gain measured between its two
/// split halves scored 1.5× the best Gaussian against the independent odd half (docs/benchmarks.md,
/// issue 16): the noise of a back-projection and its signal occupy different directions and
/// frequencies, which one isotropic or separable kernel cannot follow.
///
/// Whole-volume transforms: the spectra of two volumes are held at a time.
public struct HalfSpectrumWiener: Sendable {
    /// The volume's size.
    public let size: Size3
    /// Bins per axis over |k| from 0 to 0.5 cycles/voxel (16: 1/32 cycles/voxel each).
    public let bins: Int
    /// Per bin (z, y, x), the cross-spectrum of the halves summed over the bin, less its
    /// standard error under independent noise.
    public private(set) var signal: [Double]

    /// Bins per axis when none are given: on the real crop 8 bins scored 0.046, 16 scored 0.055
    /// and 32 scored 0.046 (fewer: too coarse; more: each bin's estimate too noisy).
    public static let defaultBins = 16

    /// Measures the signal spectrum between `first` and `second` (each `size.voxelCount` floats,
    /// at the scale of the volume to filter). Both arrays are emptied once transformed, so that
    /// at most two volumes' spectra and one of the halves are held at a time.
    public init(first: inout [Float], second: inout [Float], size: Size3, bins: Int = defaultBins) throws {
        precondition(first.count == size.voxelCount && second.count == size.voxelCount, "halves of \(size) voxels expected")
        self.size = size
        self.bins = bins
        let spectrumA = try Self.spectrum(of: &first, size: size)
        let spectrumB = try Self.spectrum(of: &second, size: size)
        var sums = [Double](repeating: 0, count: bins * bins * bins), squares = sums
        let a = spectrumA.pointer, b = spectrumB.pointer
        Self.forEachFrequency(size: size, bins: bins) { i, bin in
            guard i != 0 else { return }
            let (ar, ai, br, bi) = (Double(a[2 &* i]), Double(a[2 &* i &+ 1]), Double(b[2 &* i]), Double(b[2 &* i &+ 1]))
            sums[bin] += ar * br + ai * bi
            let difference = (ar - br) * (ar - br) + (ai - bi) * (ai - bi)
            squares[bin] += difference * difference
        }
        // Independent noise agrees by chance: with noise power N per frequency in each half, a
        // bin's sum has a variance of Σ N²/2 under no signal, and |A − B|² (signal-free, mean
        // 2N) estimates N² as |A − B|⁴/8. One such standard error is left out of every bin: on
        // the real crop and three other real reconstructions that scored as well or better than
        // the plain sum (0.0475 against 0.0465 on average), and on small volumes, with few
        // frequencies per bin, it keeps chance agreement from passing noise.
        signal = zip(sums, squares).map { $0 - ($1 / 16).squareRoot() }
    }

    /// How a filtering went: the share of the volume's power (the mean left out) that the gains keep.
    public struct Summary: Sendable {
        /// Σ gain²·power / Σ power.
        public var keptPower: Double
        /// Σ max(signal, 0) / Σ power: the signal's share of the power, as the halves measure it.
        public var signalShare: Double
    }

    /// Filters `volume` in place with the gains `signal / power(volume)` per bin.
    @discardableResult
    public func filter(_ volume: inout [Float]) throws -> Summary {
        precondition(volume.count == size.voxelCount, "a volume of \(size) voxels expected")
        let spectrum = try Self.spectrum(of: &volume, size: size)
        let s = spectrum.pointer
        var power = [Double](repeating: 0, count: signal.count)
        Self.forEachFrequency(size: size, bins: bins) { i, bin in
            guard i != 0 else { return }
            power[bin] += Double(s[2 &* i]) * Double(s[2 &* i]) + Double(s[2 &* i &+ 1]) * Double(s[2 &* i &+ 1])
        }
        let gains = zip(signal, power).map { $1 > 0 ? Float(min(1, max(0, $0 / $1))) : 0 }
        let total = power.reduce(0, +)
        let kept = zip(gains, power).reduce(0.0) { $0 + Double($1.0 * $1.0) * $1.1 }
        let share = zip(signal, power).reduce(0.0) { $0 + min(max($1.0, 0), $1.1) }
        let scale = 1 / Float(size.voxelCount)
        Self.forEachFrequency(size: size, bins: bins) { i, bin in
            let g = i == 0 ? scale : gains[bin] * scale
            s[2 &* i] *= g
            s[2 &* i &+ 1] *= g
        }
        volume = [Float](repeating: 0, count: size.voxelCount)
        let (nz, ny, nx) = (Int32(size.z), Int32(size.y), Int32(size.x))
        try volume.withUnsafeMutableBufferPointer { out in
            let plan = try FFTW.plan(threads: Parallel.threads, rigor: .estimate, values: size.voxelCount, what: "a \(size) inverse FFT") { flags in
                fftwf_plan_dft_c2r_3d(nz, ny, nx, s.complex, out.baseAddress!, flags)
            }
            fftwf_execute(plan.pointer)
        }
        return Summary(keptPower: total > 0 ? kept / total : 0, signalShare: total > 0 ? share / total : 0)
    }

    /// The r2c transform of `volume` (nz × ny × (nx/2+1) complex values); empties `volume`.
    static func spectrum(of volume: inout [Float], size: Size3) throws -> FFTW.Buffer {
        let half = size.x / 2 + 1
        let spectrum = FFTW.Buffer(floats: 2 * size.z * size.y * half)
        let (nz, ny, nx) = (Int32(size.z), Int32(size.y), Int32(size.x))
        try volume.withUnsafeMutableBufferPointer { input in
            let plan = try FFTW.plan(threads: Parallel.threads, rigor: .estimate, values: size.voxelCount, what: "a \(size) FFT") { flags in
                fftwf_plan_dft_r2c_3d(nz, ny, nx, input.baseAddress!, spectrum.pointer.complex, flags)
            }
            fftwf_execute(plan.pointer)
        }
        volume = []
        return spectrum
    }

    /// The bin of frequency index `i` of an axis of `n` samples (FFT order) with `bins` bins.
    @inlinable
    static func bin(_ i: Int, of n: Int, bins: Int) -> Int {
        let folded = min(i, n &- i)
        return min(folded &* 2 &* bins / n, bins &- 1)
    }

    /// Calls `body(complexIndex, bin)` for every value of an r2c spectrum of `size`.
    static func forEachFrequency(size: Size3, bins: Int, _ body: (Int, Int) -> Void) {
        let half = size.x / 2 + 1
        let xBins = (0..<half).map { bin($0, of: size.x, bins: bins) }
        var i = 0
        for z in 0..<size.z {
            let zBin = bin(z, of: size.z, bins: bins) &* bins
            for y in 0..<size.y {
                let row = (zBin &+ bin(y, of: size.y, bins: bins)) &* bins
                for x in 0..<half {
                    body(i, row &+ xBins[x])
                    i &+= 1
                }
            }
        }
    }
}
