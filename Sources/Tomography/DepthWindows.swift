import FilterKit

/// Overlapping windows of sections (ranges along Z) that a deep tomogram is split and filtered
/// in, each on its own (``WindowedTiltSplit``), and the weights that blend them back.
///
/// Why: the two halves of a split agree on what the split cannot attribute to one tilt or its
/// neighbour, and how far that reaches in frequency depends on the depth split: about
/// 1 / (depth · tilt step). The reconstructions of interleaved tilts (what the result is judged
/// against, and what a second exposure would share) agree up to about twice as far as the halves
/// of a whole-depth split do, which leaves the filter too narrow on deep volumes: on the 10 Å
/// field of view of the real tilt series (200 sections), sections 36–164 split alone scored
/// 0.0560 against the other half where the whole-depth split's gains scored 0.0511 on them.
/// Windows about 1280 Å deep (128 sections at 10 Å, 64 at 20 Å) raised the whole fields of
/// view from 1.02× to 1.09× (10 Å) and 0.94× to 1.05× (20 Å) the best Gaussian and left every
/// crop as it was; shallower ones pass noise where the signal is weak (a crop at the cell's
/// edge fell from 0.043 to 0.013 at 640 Å). docs/benchmarks.md, session 13.
public struct DepthWindows: Sendable, Equatable {
    /// The sections of the volume.
    public let depth: Int
    /// The windows, in increasing order of their first section; they cover `0 ..< depth`.
    public let windows: [Range<Int>]

    /// The default window's depth in Å.
    public static let defaultAngstroms: Float = 1280
    /// The default window's depth in sections when the voxel size is unknown (10 Å assumed).
    public static let defaultSections = 128

    /// The window depth for a voxel of `angstroms` along Z (0: unknown).
    public static func sections(forVoxel angstroms: Float) -> Int {
        angstroms > 0 ? max(1, Int((defaultAngstroms / angstroms).rounded())) : defaultSections
    }

    /// The fewest sections a window of planes `width` voxels wide needs for `tilts` profiles:
    /// twice as many voxels per plane as unknowns (about tilts × (width + depth)), else the split
    /// of a shallow window is underdetermined. `Int.max` when no depth is enough.
    public static func minimumSections(tilts: Int, width: Int) -> Int {
        guard width > 2 * tilts else { return .max }
        return (2 * tilts * width + width - 2 * tilts - 1) / (width - 2 * tilts)
    }

    /// Windows `window` sections deep over `depth` sections: one window (the whole volume) when
    /// `depth` is at most a quarter more than `window`, else the fewest windows, evenly spaced,
    /// that overlap by at least a quarter of one.
    public init(depth: Int, window: Int) {
        precondition(depth > 0 && window > 0, "a depth and a window of at least one section")
        self.depth = depth
        guard depth > window + window / 4 else {
            windows = [0..<depth]
            return
        }
        let stride = max(1, window - window / 4)
        let count = (depth - window + stride - 1) / stride + 1
        windows = (0..<count).map { i in
            let start = ((depth - window) * i + (count - 1) / 2) / (count - 1)
            return start..<start + window
        }
    }

    /// Per window, the weight of each of its sections (index relative to the window): a ramp
    /// across each overlap with a neighbour, 1 elsewhere, normalised so that the weights of a
    /// section sum to 1 over the windows that hold it.
    public var weights: [[Float]] {
        let raw = windows.enumerated().map { i, window in
            window.map { z -> Double in
                var w = 1.0
                if i > 0 {
                    let ramp = Double(windows[i - 1].upperBound - window.lowerBound)
                    if ramp > 0 { w = min(w, (Double(z - window.lowerBound) + 0.5) / ramp) }
                }
                if i + 1 < windows.count {
                    let ramp = Double(window.upperBound - windows[i + 1].lowerBound)
                    if ramp > 0 { w = min(w, (Double(window.upperBound - z) - 0.5) / ramp) }
                }
                return w
            }
        }
        var sums = [Double](repeating: 0, count: depth)
        for (window, w) in zip(windows, raw) {
            for (z, v) in zip(window, w) { sums[z] += v }
        }
        return zip(windows, raw).map { window, w in zip(window, w).map { Float($1 / sums[$0]) } }
    }
}
