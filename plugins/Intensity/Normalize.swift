import FilterKit

/// Intensity stages: `normalize`.
public enum IntensityPlugin {
    public static let factories: [any StageFactory.Type] = [NormalizeFactory.self]
}

/// `normalize`: rescale intensities using statistics of the whole volume (a prepass stage).
public enum NormalizeFactory: StageFactory {
    public static let name = "normalize"
    public static let summary = "rescale by global statistics: mean 0 / std 1, or percentiles to 0…1 (two passes)"
    public static let discussion = """
        method=meanstd: (x − mean) / std over the whole volume (exact, one extra pass).
        method=percentile: clip to the low and high percentiles, then map them to 0 and 1
        (two extra passes; percentiles from a 2²⁰-bin histogram between the minimum and
        maximum, so within (max − min)/2²⁰ of exact).
        A pipe input is spooled to $TMPDIR for the extra passes; a file is read again.
        Example: stdio-filter normalize --method percentile --low 1 --high 99 in.mrc out.mrc
        """
    public static let parameters = [
        StageParameter("method", .choice(["meanstd", "percentile"]), default: "meanstd", help: "what to normalise by"),
        StageParameter("low", .number(0...100), default: "0.1", unit: "%", help: "lower percentile (method=percentile)"),
        StageParameter("high", .number(0...100), default: "99.9", unit: "%", help: "upper percentile (method=percentile)"),
    ]

    public static func make(_ p: StageParameters) throws -> any Stage {
        let low = try p.number("low"), high = try p.number("high")
        guard low < high else {
            throw FilterError.invalidParameter(name: "normalize low/high", value: "\(p.text("low"))/\(p.text("high"))", expected: "low < high")
        }
        return NormalizeStage(percentiles: try p.choice("method") == "percentile" ? (low, high) : nil)
    }
}

/// Global normalisation; statistics come from prepasses over the whole input.
public final class NormalizeStage: PrepassStage {
    public let name = "normalize"
    /// Percentiles in %, or nil for mean/std.
    let percentiles: (low: Double, high: Double)?
    private var statistics = RunningStatistics()
    private static let bins = 1 << 20
    private var histogram: [UInt64] = []
    /// The map applied in the data phase: `(clamp(x, lo, hi) − shift) / divisor`.
    public private(set) var shift: Float = 0
    public private(set) var divisor: Float = 1
    private var clampRange: ClosedRange<Float> = -Float.infinity...Float.infinity

    public init(percentiles: (Double, Double)?) {
        self.percentiles = percentiles
    }

    public var prepassCount: Int { percentiles == nil ? 1 : 2 }

    public func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        var info = input
        info.elementType = .float32
        return info
    }

    public func inputBox(forOutput output: Box) -> Box { output }

    public func scratchBytes(forOutput output: Box) -> Int { percentiles == nil ? 0 : NormalizeStage.bins * 8 }

    public func prepass(_ pass: Int, sections: UnsafePointer<Float>, count: Int, info: VolumeInfo) throws {
        let n = count * info.size.sectionVoxels
        if pass == 0 {
            statistics.add(sections, count: n)
            return
        }
        let lo = statistics.minimum, width = Double(statistics.maximum - lo)
        let bins = NormalizeStage.bins
        let factor = width > 0 ? Double(bins) / width : 0
        histogram.withUnsafeMutableBufferPointer { h in
            for i in 0..<n {
                let b = Int((Double(sections[i] - lo) * factor))
                h[min(max(b, 0), bins - 1)] &+= 1
            }
        }
    }

    public func finishPrepass(_ pass: Int) throws {
        if pass == 0 {
            guard statistics.minimum.isFinite, statistics.maximum.isFinite, statistics.mean.isFinite else {
                throw FilterError.unsupported(source: name, what: "the volume holds NaN or infinite values", hint: "")
            }
            if let _ = percentiles {
                histogram = [UInt64](repeating: 0, count: NormalizeStage.bins)
                return
            }
            let std = statistics.standardDeviation
            guard std > 0 else {
                throw FilterError.unsupported(source: name, what: "the volume is constant (std 0): nothing to normalise by", hint: "")
            }
            shift = Float(statistics.mean)
            divisor = Float(std)
            return
        }
        let (low, high) = percentiles!
        let lo = Double(statistics.minimum), width = Double(statistics.maximum) - lo
        let total = Double(statistics.count)
        func value(atPercent p: Double) -> Float {
            let target = p / 100 * total
            var seen = 0.0
            for (b, n) in histogram.enumerated() {
                seen += Double(n)
                if seen >= target && n > 0 { return Float(lo + (Double(b) + 0.5) * width / Double(NormalizeStage.bins)) }
            }
            return Float(lo + width)
        }
        let a = value(atPercent: low), b = value(atPercent: high)
        histogram = []
        guard b > a else {
            throw FilterError.unsupported(source: name, what: "the \(low)% and \(high)% percentiles are equal (\(a)): nothing to normalise by", hint: "widen low/high")
        }
        clampRange = a...b
        shift = a
        divisor = b - a
    }

    public func process(_ input: Tile, into output: MutableTile) throws {
        let n = input.planeVoxels
        let (lo, hi, shift, divisor) = (clampRange.lowerBound, clampRange.upperBound, shift, divisor)
        for t in 0..<output.box.size.z {
            let src = input.plane(t), dst = output.data + t * n
            var i = 0
            while i < n {
                var v = src[i]
                v = v < lo ? lo : v
                v = v > hi ? hi : v
                dst[i] = (v - shift) / divisor
                i &+= 1
            }
        }
    }
}
