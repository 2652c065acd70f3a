import FilterKit
import Foundation

/// A weighted back-projection's tilt geometry, found from the volume, and its split into the
/// reconstructions of alternate tilts (``BackProjectionSplit``): what `split-tilts` and
/// `s2s --tilts` share.
public struct TiltSplit: Sendable {
    /// Where the angles come from.
    public enum Angles: Sendable {
        /// Given (FIRST:LAST:STEP or a .tlt file), refined by ±0.1°.
        case given(TiltAngles)
        /// Found in the power spectrum (``TiltAngleDetector``), refined by ±0.8°.
        case detected
    }

    public var angles: Angles
    /// The tilt axes to try.
    public var axes: [BackProjectionSplit.Axis]
    /// A volume fitted worse than this (relative residual) is refused.
    public var maxResidual: Double

    public init(angles: Angles, axes: [BackProjectionSplit.Axis] = BackProjectionSplit.Axis.allCases, maxResidual: Double = 0.05) {
        self.angles = angles
        self.axes = axes
        self.maxResidual = maxResidual
    }

    /// The split the command line describes: `tilts` is FIRST:LAST:STEP, a file of angles (read
    /// here) or `auto`; `axis` is `auto`, `y` or `x`.
    public init(tilts: String, axis: String, maxResidual: Double) throws {
        let axes = axis == "auto" ? BackProjectionSplit.Axis.allCases : [BackProjectionSplit.Axis(rawValue: axis)!]
        self.init(angles: tilts == "auto" ? .detected : .given(try TiltAngles(parsing: tilts)), axes: axes, maxResidual: maxResidual)
    }

    /// Voxels along each axis a volume needs to be split at all.
    public static let minimumEdge = 8

    /// Whether a volume of `size` is large enough to split.
    public static func canSplit(_ size: Size3) -> Bool {
        min(size.x, size.y, size.z) >= minimumEdge
    }

    /// The geometry a volume was found to have.
    public struct Geometry: Sendable {
        /// The angles before refinement (given or detected).
        public var angles: TiltAngles
        public var fit: BackProjectionSplit.Fit
    }

    /// Finds the geometry of `volume` (named `source` in errors), logging what it found.
    ///
    /// - Throws: ``FilterError/unsupported(source:what:hint:)`` when no tilt series shows in the
    ///   power spectrum (`.detected`) or the fit's residual exceeds ``maxResidual``.
    public func geometry(of volume: UnsafePointer<Float>, size: Size3, source: String, log: (String) -> Void) throws -> Geometry {
        try geometry(of: PlaneSamples(volume: volume, size: size, axes: axes), source: source, log: log)
    }

    /// ``geometry(of:size:source:log:)`` from the sample planes of a volume (across ``axes``).
    public func geometry(of sampled: PlaneSamples, source: String, log: (String) -> Void) throws -> Geometry {
        let start = ProgressReporter.now()
        var candidates: [TiltAngles]
        var axes = self.axes
        var detected = false
        switch self.angles {
        case .given(let given):
            candidates = [given]
        case .detected:
            guard let detection = try TiltAngleDetector.detect(sampled, axes: axes) else {
                throw FilterError.unsupported(
                    source: source, what: "a volume whose power spectrum shows no tilt series (no comb of at least 4 peaks over the angle)",
                    hint: "give the angles with --tilts FIRST:LAST:STEP or a .tlt file; a tomogram filtered after its back-projection cannot be split")
            }
            candidates = [try TiltAngles(degrees: detection.degrees)]
            if let symmetric = Self.symmetricExtension(of: detection.degrees) { candidates.append(try TiltAngles(degrees: symmetric)) }
            axes = [detection.axis]
            detected = true
            log(String(format: "found %d tilts about %@ in the power spectrum (peaks %.1f× its median): %@", detection.degrees.count, detection.axis.rawValue.uppercased(), detection.contrast, detection.degrees.map { String(format: "%.1f", $0) }.joined(separator: " ")))
        }
        var best: Geometry?
        for (index, angles) in candidates.enumerated() {
            let fit = try BackProjectionSplit(angles: angles).fitGeometry(sampled, axes: axes, signs: detected ? [1] : [1, -1], angleSearch: detected ? 0.8 : 0.1)
            let moved = zip(fit.degrees, angles.degrees).map { abs($0 - $1) }.max() ?? 0
            log("\(angles): \(fit) on sample planes, angles refined by up to \(String(format: "%.3f", moved))° (\(String(format: "%.1f", ProgressReporter.now() - start)) s)")
            if best == nil || fit.residual < best!.fit.residual { best = Geometry(angles: angles, fit: fit) }
            if fit.residual <= maxResidual { break }
            if index + 1 < candidates.count {
                log("trying the comb extended to a range symmetric about 0° (the peaks of the highest tilts can be too faint to find)")
            }
        }
        let geometry = best!
        guard geometry.fit.residual <= maxResidual else {
            throw FilterError.unsupported(
                source: source,
                what: String(format: "a volume that the back-projection of %@ fits with a residual of %.1f %% (at most %.1f %%)", geometry.angles.description, geometry.fit.residual * 100, maxResidual * 100),
                hint: "check the angles (--tilts); a tomogram filtered, binned or rotated after its weighted back-projection cannot be split")
        }
        return geometry
    }

    /// A regular grid of angles extended on its shorter side to mirror its longer one (at most
    /// 80°), or nil when it already is symmetric about 0° within half a step.
    public static func symmetricExtension(of degrees: [Double]) -> [Double]? {
        guard degrees.count >= 2, let first = degrees.first, let last = degrees.last else { return nil }
        let step = (last - first) / Double(degrees.count - 1)
        let reach = min(80, max(-first, last))
        var extended = degrees
        while extended.first! - step >= -reach - step / 2 { extended.insert(extended.first! - step, at: 0) }
        while extended.last! + step <= reach + step / 2 { extended.append(extended.last! + step) }
        return extended.count > degrees.count ? extended : nil
    }

    /// Logs a split's time and relative residual (what the benchmarks read).
    static func logSplit(since start: Double, residual: Double) {
        Log.info(String(format: "split into the reconstructions of alternate tilts in %.1f s, residual %.2f %%", ProgressReporter.now() - start, residual * 100))
    }

    /// The reconstructions of the even- and odd-numbered tilts of `volume`, and the relative
    /// residual of the per-plane fits; `progress` gets the planes done.
    public static func halves(
        of volume: UnsafePointer<Float>, size: Size3, geometry: Geometry, progress: ((Int) -> Void)? = nil
    ) -> (first: [Float], second: [Float], residual: Double) {
        var first = [Float](repeating: 0, count: size.voxelCount), second = first
        let residual = first.withUnsafeMutableBufferPointer { a in
            second.withUnsafeMutableBufferPointer { b in
                BackProjectionSplit(angles: geometry.angles).split(volume, size: size, fit: geometry.fit, first: a.baseAddress!, second: b.baseAddress!, progress: progress)
            }
        }
        return (first, second, residual)
    }
}
