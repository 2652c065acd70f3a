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
        let spectrumA = try Self.spectrum(of: &first, size: size)
        let spectrumB = try Self.spectrum(of: &second, size: size)
        var sums = Sums(bins: bins)
        let a = spectrumA.pointer, b = spectrumB.pointer
        Self.forEachFrequency(size: size, bins: bins) { i, bin, weight in
            guard i != 0 else { return }
            sums.addHalves(a + 2 &* i, b + 2 &* i, bin: bin, weight: weight)
        }
        self.init(sums, size: size)
    }

    /// The signal spectrum from sums over the halves' spectra (however they were transformed).
    public init(_ sums: Sums, size: Size3) {
        self.size = size
        bins = sums.bins
        // Independent noise agrees by chance: with noise power N per frequency in each half, a
        // bin's sum has a variance of Σ N²/2 under no signal, and |A − B|² (signal-free, mean
        // 2N) estimates N² as |A − B|⁴/8. One such standard error is left out of every bin: on
        // the real crop and three other real reconstructions that scored as well or better than
        // the plain sum (0.0475 against 0.0465 on average), and on small volumes, with few
        // frequencies per bin, it keeps chance agreement from passing noise.
        signal = zip(sums.cross, sums.differenceSquares).map { $0 - ($1 / 16).squareRoot() }
    }

    /// Per bin, sums over the frequencies of the halves' (and the volume's) spectra, each
    /// frequency of a real volume's half spectrum counted for itself and its conjugate.
    public struct Sums: Sendable {
        public let bins: Int
        /// Σ Re(A·B*).
        public var cross: [Double]
        /// Σ |A − B|⁴.
        public var differenceSquares: [Double]
        /// Σ |V|², the volume to filter.
        public var power: [Double]

        public init(bins: Int) {
            self.bins = bins
            cross = [Double](repeating: 0, count: bins * bins * bins)
            differenceSquares = cross
            power = cross
        }

        /// Adds one frequency of the halves (complex values at `a` and `b`).
        @inlinable
        public mutating func addHalves(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, bin: Int, weight: Double) {
            let (ar, ai, br, bi) = (Double(a[0]), Double(a[1]), Double(b[0]), Double(b[1]))
            cross[bin] += weight * (ar * br + ai * bi)
            let difference = (ar - br) * (ar - br) + (ai - bi) * (ai - bi)
            // A frequency and its conjugate are one draw of the noise: the variance of their
            // two equal terms is 4 times one's. Off the halved axis' 0 (and Nyquist) plane the
            // pair is this one value (weight 2: ×4); on that plane both are listed, each with
            // weight 1 (×2 each). So 2·weight, whichever axis a transform halved.
            differenceSquares[bin] += 2 * weight * difference * difference
        }

        /// Adds one frequency of the volume (the complex value at `v`).
        @inlinable
        public mutating func addVolume(_ v: UnsafePointer<Float>, bin: Int, weight: Double) {
            power[bin] += weight * (Double(v[0]) * Double(v[0]) + Double(v[1]) * Double(v[1]))
        }

        /// Adds another set of sums (of other frequencies).
        public mutating func add(_ other: Sums) {
            for i in cross.indices {
                cross[i] += other.cross[i]
                differenceSquares[i] += other.differenceSquares[i]
                power[i] += other.power[i]
            }
        }
    }

    /// How a filtering went: the share of the volume's power (the mean left out) that the gains keep.
    public struct Summary: Sendable {
        /// Σ gain²·power / Σ power.
        public var keptPower: Double
        /// Σ max(signal, 0) / Σ power: the signal's share of the power, as the halves measure it.
        public var signalShare: Double
        /// Whether a ``SplitRefiner`` denoised the volume away from the band along the tilt axis
        /// (then ``keptPower`` is the filter's, not the output's).
        public var refined = false
    }

    /// The gains `signal / power` per bin, clamped to [0, 1], and what they keep of `power`
    /// (the volume's power per bin, ``Sums/power``).
    public func gains(power: [Double]) -> (gains: [Float], summary: Summary) {
        let gains = zip(signal, power).map { $1 > 0 ? Float(min(1, max(0, $0 / $1))) : 0 }
        let total = power.reduce(0, +)
        let kept = zip(gains, power).reduce(0.0) { $0 + Double($1.0 * $1.0) * $1.1 }
        let share = zip(signal, power).reduce(0.0) { $0 + min(max($1.0, 0), $1.1) }
        return (gains, Summary(keptPower: total > 0 ? kept / total : 0, signalShare: total > 0 ? share / total : 0))
    }

    /// Filters `volume` in place with the gains `signal / power(volume)` per bin.
    @discardableResult
    public func filter(_ volume: inout [Float]) throws -> Summary {
        precondition(volume.count == size.voxelCount, "a volume of \(size) voxels expected")
        let spectrum = try Self.spectrum(of: &volume, size: size)
        let s = spectrum.pointer
        var sums = Sums(bins: bins)
        Self.forEachFrequency(size: size, bins: bins) { i, bin, weight in
            guard i != 0 else { return }
            sums.addVolume(s + 2 &* i, bin: bin, weight: weight)
        }
        let (gains, summary) = gains(power: sums.power)
        let scale = 1 / Float(size.voxelCount)
        Self.forEachFrequency(size: size, bins: bins) { i, bin, _ in
            let g = i == 0 ? scale : gains[bin] * scale
            s[2 &* i] *= g
            s[2 &* i &+ 1] *= g
        }
        volume = try Self.inverse(s, size: size)
        return summary
    }

    /// The c2r transform of the r2c spectrum at `spectrum` (overwritten: FFTW's c2r transforms
    /// use their input as scratch), unnormalised.
    static func inverse(_ spectrum: UnsafeMutablePointer<Float>, size: Size3) throws -> [Float] {
        var out = [Float](repeating: 0, count: size.voxelCount)
        let (nz, ny, nx) = (Int32(size.z), Int32(size.y), Int32(size.x))
        try out.withUnsafeMutableBufferPointer { o in
            let plan = try FFTW.plan(threads: Parallel.threads, rigor: .estimate, values: size.voxelCount, what: "a \(size) inverse FFT") { flags in
                fftwf_plan_dft_c2r_3d(nz, ny, nx, spectrum.complex, o.baseAddress!, flags)
            }
            fftwf_execute(plan.pointer)
        }
        return out
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

    /// How many frequencies index `i` of the halved axis of a real transform of `n` samples
    /// stands for: 2 (itself and its conjugate) but for 0 and, when `n` is even, n/2.
    @inlinable
    static func hermitianWeight(_ i: Int, of n: Int) -> Double {
        i == 0 || (n & 1 == 0 && i == n / 2) ? 1 : 2
    }

    /// Calls `body(complexIndex, bin, weight)` for every value of an r2c spectrum of `size`.
    static func forEachFrequency(size: Size3, bins: Int, _ body: (Int, Int, Double) -> Void) {
        let half = size.x / 2 + 1
        let xBins = (0..<half).map { bin($0, of: size.x, bins: bins) }
        let weights = (0..<half).map { hermitianWeight($0, of: size.x) }
        var i = 0
        for z in 0..<size.z {
            let zBin = bin(z, of: size.z, bins: bins) &* bins
            for y in 0..<size.y {
                let row = (zBin &+ bin(y, of: size.y, bins: bins)) &* bins
                for x in 0..<half {
                    body(i, row &+ xBins[x], weights[x])
                    i &+= 1
                }
            }
        }
    }
}
