import FFTSupport
import FilterKit
import Foundation

/// A denoiser that learns from the two halves of a split (a network trained on them, each half
/// towards the other), given them and the volume to denoise without the band along the tilt
/// axis (``HalfSpectrumWiener/refine(volume:first:second:size:bins:axis:refiner:bandWeight:)``).
public protocol SplitRefiner: AnyObject {
    /// What it is, for messages (such as `a network trained on the halves`).
    var description: String { get }
    /// The memory it uses besides the volumes it is given (its network, patches and buffers).
    var memoryBytes: Int { get }
    /// `volume` denoised (at its scale), learning from `first` and `second` (two independent
    /// reconstructions at the volume's scale); each `size.voxelCount` floats.
    func denoise(first: [Float], second: [Float], volume: [Float], size: Size3) throws -> [Float]
}

extension HalfSpectrumWiener {
    /// Whether bin (`z`, `y`, `x`) lies in the band along the tilt axis `axis`: at most one bin
    /// off the axis across it (|k| < 1/16 cycle/voxel on both transverse axes, 16 bins), from the
    /// second bin along it on.
    ///
    /// Every tilt's Fourier plane holds the tilt axis, so near it the tilts overlap and the split
    /// cannot tell them apart: pure noise through the split of the real crop's geometry shares
    /// 67 % of its power between the halves in this band, 26 % in the next bins across and under
    /// 5 % elsewhere (docs/benchmarks.md, session 14). Filtered by the Wiener gains, this band
    /// holds 70 % of what the filter keeps on the real crop, long structures across the axis
    /// that show as streaks.
    @inlinable
    public static func inAxisBand(z: Int, y: Int, x: Int, axis: BackProjectionSplit.Axis) -> Bool {
        switch axis {
        case .y: return z &+ x <= 1 && y >= 2
        case .x: return z &+ y <= 1 && x >= 2
        }
    }

    /// The share of the band's Wiener amplitude kept by ``refine(volume:first:second:size:bins:axis:refiner:bandWeight:)``.
    /// The score against the other half grows with it and so do the streaks: on the benchmark
    /// crop 0.0404 at 0.15, 0.0460 at 0.25, 0.0480 at 0.3, 0.0506 at 0.4, 0.0527 at 0.6 (the
    /// filter alone: 0.0552; the best Gaussian 0.0366); ribosomes stay the dominant feature up to
    /// about 0.3 (docs/benchmarks.md, session 15). A fixed share, not one relative to the
    /// network's output: that shrank with a shorter training (0.11 after 1035 steps under load).
    public static let defaultBandWeight: Float = 0.3

    /// Denoises `volume` in two parts: the band along the tilt axis (``inAxisBand(z:y:x:axis:)``)
    /// by the Wiener gains the halves measure, the rest by `refiner`, trained on the halves
    /// without that band (where they share noise) and applied to the volume without it. The
    /// band is added back at `bandWeight` times its Wiener amplitude, so that streaks along the
    /// axis do not dominate (``defaultBandWeight``).
    ///
    /// `first` and `second` (at the volume's scale) are emptied; `volume` becomes the output.
    /// Holds about five volumes and three spectra at its peak.
    public static func refine(
        volume: inout [Float], first: inout [Float], second: inout [Float], size: Size3, bins: Int, axis: BackProjectionSplit.Axis,
        refiner: any SplitRefiner, bandWeight: Float = defaultBandWeight
    ) throws -> Summary {
        let spectrumA = try spectrum(of: &first, size: size)
        let spectrumB = try spectrum(of: &second, size: size)
        let spectrumV = try spectrum(of: &volume, size: size)
        var sums = Sums(bins: bins)
        let (a, b, v) = (spectrumA.pointer, spectrumB.pointer, spectrumV.pointer)
        forEachFrequency(size: size, bins: bins) { i, bin, weight in
            guard i != 0 else { return }
            sums.addHalves(a + 2 &* i, b + 2 &* i, bin: bin, weight: weight)
            sums.addVolume(v + 2 &* i, bin: bin, weight: weight)
        }
        var (gains, summary) = HalfSpectrumWiener(sums, size: size).gains(power: sums.power)
        summary.refined = true
        let band = (0..<(bins * bins * bins)).map { inAxisBand(z: $0 / (bins * bins), y: $0 / bins % bins, x: $0 % bins, axis: axis) }
        // Without the band: the halves and the volume (the mean kept); the band alone, filtered.
        first = try synthesize(spectrumA, size: size, bins: bins) { i, bin in band[bin] && i != 0 ? 0 : 1 }
        second = try synthesize(spectrumB, size: size, bins: bins) { i, bin in band[bin] && i != 0 ? 0 : 1 }
        let rest = try synthesize(spectrumV, size: size, bins: bins) { i, bin in band[bin] && i != 0 ? 0 : 1 }
        var bandPart = try synthesize(spectrumV, size: size, bins: bins) { i, bin in band[bin] && i != 0 ? gains[bin] : 0 }
        volume = []
        let start = ProgressReporter.now()
        let denoised = try refiner.denoise(first: first, second: second, volume: rest, size: size)
        (first, second) = ([], [])
        precondition(denoised.count == size.voxelCount, "the refiner returns the volume")
        let (refinedDeviation, keptBandDeviation) = (standardDeviation(denoised), standardDeviation(bandPart) * Double(bandWeight))
        for i in bandPart.indices { bandPart[i] = denoised[i] + bandWeight * bandPart[i] }
        volume = bandPart
        Log.info(String(
            format: "denoised without the band along the tilt axis by %@ (%.1f s); the band filtered by the shared spectrum, kept at %.2f of its amplitude (standard deviations: the network's output %.3g, the band kept %.3g)",
            refiner.description, ProgressReporter.now() - start, bandWeight, refinedDeviation, keptBandDeviation))
        return summary
    }

    /// The inverse transform of `spectrum` (an r2c spectrum of `size`, left as it is) with every
    /// frequency scaled by `factor(index, bin)`.
    static func synthesize(_ spectrum: FFTW.Buffer, size: Size3, bins: Int, factor: (Int, Int) -> Float) throws -> [Float] {
        let complexCount = size.z * size.y * (size.x / 2 + 1)
        let scaled = FFTW.Buffer(floats: 2 * complexCount)
        let (s, d) = (spectrum.pointer, scaled.pointer)
        let scale = 1 / Float(size.voxelCount)
        forEachFrequency(size: size, bins: bins) { i, bin, _ in
            let g = factor(i, bin) * scale
            d[2 &* i] = s[2 &* i] * g
            d[2 &* i &+ 1] = s[2 &* i &+ 1] * g
        }
        return try inverse(d, size: size)
    }

    static func standardDeviation(_ values: [Float]) -> Double {
        var statistics = RunningStatistics()
        values.withUnsafeBufferPointer { statistics.add($0.baseAddress!, count: $0.count) }
        return statistics.standardDeviation
    }
}
