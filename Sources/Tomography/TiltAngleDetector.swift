import CFFTW
import FFTSupport
import FilterKit
import Foundation

/// Finds the tilt angles of a weighted back-projection from the tomogram alone.
///
/// Every tilt contributes a ridge function to each plane across the tilt axis, whose Fourier
/// transform lies on a line through the origin at the tilt's angle (the direction (cos θ, sin θ)
/// in (X, Z)). The power spectrum of those planes, averaged over sample planes and over an annulus
/// of 0.15–0.4 cycles per voxel, is then a comb of peaks over the angle, one per tilt, 5–13 times
/// the median on real data. Its peaks give the angles to about 0.1°, which
/// ``BackProjectionSplit`` refines on the volume to about 0.002°.
public enum TiltAngleDetector {
    /// The angular profile of one axis and the peaks found in it.
    public struct Detection: Sendable {
        public var axis: BackProjectionSplit.Axis
        /// The tilt angles in degrees, sorted: the regular grid through the peaks.
        public var degrees: [Double]
        /// The median peak height over the median of the profile.
        public var contrast: Double
    }

    /// Bins of the angular profile, in degrees.
    static let binWidth = 0.25
    /// Peaks below this many times the profile's median are ignored.
    static let peakThreshold = 3.0

    /// The tilt angles of `volume` about the axis whose planes show the clearest comb, or nil
    /// when neither shows at least 4 peaks.
    public static func detect(_ volume: UnsafePointer<Float>, size: Size3, axes: [BackProjectionSplit.Axis] = BackProjectionSplit.Axis.allCases) throws -> Detection? {
        try detect(PlaneSamples(volume: volume, size: size, axes: axes), axes: axes)
    }

    /// ``detect(_:size:axes:)`` on the sample planes of a volume (``PlaneSamples/detectorPlanes`` per axis).
    public static func detect(_ sampled: PlaneSamples, axes: [BackProjectionSplit.Axis] = BackProjectionSplit.Axis.allCases) throws -> Detection? {
        var best: Detection?
        for axis in axes {
            let profile = try angularProfile(sampled, axis: axis)
            guard let detection = peaks(in: profile, axis: axis) else { continue }
            if best == nil || detection.contrast > best!.contrast { best = detection }
        }
        return best
    }

    /// Mean power per angle bin (from −90° to 90°) over the annulus, for planes across `axis`.
    static func angularProfile(_ sampled: PlaneSamples, axis: BackProjectionSplit.Axis) throws -> [Double] {
        let size = sampled.size
        let width = PlaneSamples.width(axis, size: size), depth = size.z, planeCount = PlaneSamples.count(axis, size: size)
        let half = width / 2 + 1
        let input = FFTW.Buffer(floats: width * depth), output = FFTW.Buffer(floats: 2 * half * depth)
        let plan = try FFTW.plan(threads: 1, rigor: .estimate, values: width * depth, what: "a \(width)×\(depth) plane's FFT") { flags in
            fftwf_plan_dft_r2c_2d(Int32(depth), Int32(width), input.pointer, output.pointer.complex, flags)
        }
        let windowA = (0..<width).map { 0.5 - 0.5 * cos(2 * .pi * (Double($0) + 0.5) / Double(width)) }
        let windowZ = (0..<depth).map { 0.5 - 0.5 * cos(2 * .pi * (Double($0) + 0.5) / Double(depth)) }
        var power = [Double](repeating: 0, count: half * depth)
        for p in PlaneSamples.indices(count: planeCount, wanted: PlaneSamples.detectorPlanes) {
            let plane = sampled.plane(p, axis: axis)
            let mean = plane.reduce(0.0) { $0 + Double($1) } / Double(width * depth)
            for z in 0..<depth {
                for a in 0..<width {
                    input.pointer[z * width + a] = Float((Double(plane[z * width + a]) - mean) * windowA[a] * windowZ[z])
                }
            }
            fftwf_execute(plan.pointer)
            for i in 0..<(half * depth) {
                let re = Double(output.pointer[2 * i]), im = Double(output.pointer[2 * i + 1])
                power[i] += re * re + im * im
            }
        }
        let bins = Int((180 / binWidth).rounded())
        var sums = [Double](repeating: 0, count: bins), counts = [Double](repeating: 0, count: bins)
        for iz in 0..<depth {
            let fz = Double(iz < (depth + 1) / 2 ? iz : iz - depth) / Double(depth)
            for ia in 0..<half {
                let fa = Double(ia) / Double(width)
                let radius = (fz * fz + fa * fa).squareRoot()
                guard radius >= 0.15, radius <= 0.4 else { continue }
                let angle = atan2(fz, fa) * 180 / .pi     // in [−90, 90] as fa ≥ 0
                let bin = min(bins - 1, max(0, Int(((angle + 90) / binWidth).rounded(.down))))
                sums[bin] += power[iz * half + ia]
                counts[bin] += 1
            }
        }
        return zip(sums, counts).map { $1 > 0 ? $0 / $1 : 0 }
    }

    /// Local maxima above the threshold within ±80°, at least 1.5° apart, refined by a parabola.
    static func peaks(in profile: [Double], axis: BackProjectionSplit.Axis) -> Detection? {
        let angleOf = { (bin: Double) in -90 + (bin + 0.5) * binWidth }
        let inside = profile.indices.filter { abs(angleOf(Double($0))) <= 80 && profile[$0] > 0 }
        guard inside.count > 16 else { return nil }
        let sorted = inside.map { profile[$0] }.sorted()
        let median = sorted[sorted.count / 2]
        guard median > 0 else { return nil }
        let reach = Int((1.5 / binWidth).rounded())
        var found: [(angle: Double, height: Double)] = []
        for i in inside where i >= reach && i + reach < profile.count {
            let value = profile[i]
            guard value >= peakThreshold * median else { continue }
            guard (i - reach...i + reach).allSatisfy({ $0 == i || profile[$0] < value || ($0 > i && profile[$0] == value) }) else { continue }
            let (left, right) = (profile[i - 1], profile[i + 1])
            let curvature = left - 2 * value + right
            let offset = curvature < 0 ? 0.5 * (left - right) / curvature : 0
            found.append((angleOf(Double(i) + offset), value / median))
        }
        guard found.count >= 4 else { return nil }
        // A small volume's wide peaks can split in two: peaks closer than 0.6 of the median
        // spacing are one (the higher kept).
        let spacing = { (peaks: [(angle: Double, height: Double)]) -> Double in
            let gaps = zip(peaks.dropFirst(), peaks).map { $0.angle - $1.angle }.sorted()
            return gaps[gaps.count / 2]
        }
        let typical = spacing(found)
        var merged: [(angle: Double, height: Double)] = []
        for peak in found {
            if let last = merged.last, peak.angle - last.angle < 0.6 * typical {
                if peak.height > last.height { merged[merged.count - 1] = peak }
            } else {
                merged.append(peak)
            }
        }
        guard merged.count >= 4 else { return nil }
        // Tilt series are acquired at a fixed step: the angles are that grid from the first peak
        // to the last (each refined on the volume later), whatever peaks were missed or split.
        let step = spacing(merged)
        let first = merged.first!.angle, last = merged.last!.angle
        let count = Int(((last - first) / step).rounded()) + 1
        guard step >= 0.5, count >= 4, count <= 400 else { return nil }
        let grid = (0..<count).map { first + Double($0) * (last - first) / Double(count - 1) }
        let heights = merged.map(\.height).sorted()
        return Detection(axis: axis, degrees: grid, contrast: heights[heights.count / 2])
    }
}
