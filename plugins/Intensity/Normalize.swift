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
        --stats FILE takes the statistics from `stdio-filter stats --json` instead (no extra
        pass; the parts of a split run then read only their sections).
        Example: stdio-filter normalize --method percentile --low 1 --high 99 in.mrc out.mrc
        """
    public static let parameters = [
        StageParameter("method", .choice(["meanstd", "percentile"]), default: "meanstd", help: "what to normalise by"),
        StageParameter("low", .number(0...100), default: "0.1", unit: "%", help: "lower percentile (method=percentile)"),
        StageParameter("high", .number(0...100), default: "99.9", unit: "%", help: "upper percentile (method=percentile)"),
        StageParameter("stats", .path, default: "none", help: "statistics from `stdio-filter stats --json` instead of a prepass (split runs)"),
    ]

    public static func make(_ p: StageParameters) throws -> any Stage {
        let low = try p.number("low"), high = try p.number("high")
        guard low < high else {
            throw FilterError.invalidParameter(name: "normalize low/high", value: "\(p.text("low"))/\(p.text("high"))", expected: "low < high")
        }
        return try NormalizeStage(percentiles: try p.choice("method") == "percentile" ? (low, high) : nil, statisticsPath: try p.path("stats"))
    }
}

/// Global normalisation; statistics come from prepasses over the whole input, or from a file
/// written by `stdio-filter stats` (then there is no prepass: a part of a split run reads only
/// the sections it needs).
public final class NormalizeStage: PrepassStage, StatisticsConsumer {
    public let name = "normalize"
    /// Any X-Y part of the output comes from its input box alone: runs on bricks.
    public var supportsBricks: Bool { true }
    /// Percentiles in %, or nil for mean/std.
    let percentiles: (low: Double, high: Double)?
    /// Statistics given with `--stats`, and the file's path for messages.
    public let statisticsFile: (statistics: VolumeStatistics, path: String)?
    private var passes: GlobalStatisticsPasses
    /// The map applied in the data phase: `(clamp(x, lo, hi) − shift) / divisor`.
    public private(set) var shift: Float = 0
    public private(set) var divisor: Float = 1
    private var clampRange: ClosedRange<Float> = -Float.infinity...Float.infinity

    /// - Parameter statisticsPath: a `stats --json` file to take the statistics from.
    public init(percentiles: (Double, Double)?, statisticsPath: String? = nil) throws {
        self.percentiles = percentiles
        passes = GlobalStatisticsPasses(stage: "normalize", findsPercentiles: percentiles != nil)
        statisticsFile = try statisticsPath.map { (try VolumeStatistics.load($0), $0) }
        if let (stats, path) = self.statisticsFile {
            guard stats.isFinite else { throw NormalizeStage.notFinite }
            if let (low, high) = percentiles {
                try setPercentiles(try stats.percentile(low, stage: name, path: path), try stats.percentile(high, stage: name, path: path))
            } else {
                try setMoments(mean: stats.mean, standardDeviation: stats.standardDeviation)
            }
        }
    }

    public var prepassCount: Int { statisticsFile != nil ? 0 : passes.passCount }

    public func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        if let (stats, path) = statisticsFile { try stats.check(describes: input.size, stage: name, path: path) }
        var info = input
        info.elementType = .float32
        return info
    }

    public func inputBox(forOutput output: Box) -> Box { output }

    public func scratchBytes(forOutput output: Box) -> Int { prepassCount == 0 ? 0 : passes.scratchBytes }

    public func prepass(_ pass: Int, sections: UnsafePointer<Float>, count: Int, info: VolumeInfo) throws {
        passes.add(pass: pass, sections: sections, count: count, info: info)
    }

    public func finishPrepass(_ pass: Int) throws {
        try passes.finish(pass: pass)
        if pass == 0, percentiles == nil {
            try setMoments(mean: passes.statistics.mean, standardDeviation: passes.statistics.standardDeviation)
        } else if pass == 1, let (low, high) = percentiles {
            try setPercentiles(passes.value(atPercent: low), passes.value(atPercent: high))
            passes.releaseHistogram()
        }
    }

    private static let notFinite = GlobalStatisticsPasses.notFinite("normalize")

    private func setMoments(mean: Double, standardDeviation std: Double) throws {
        guard std > 0 else {
            throw FilterError.unsupported(source: name, what: "the volume is constant (std 0): nothing to normalise by", hint: "")
        }
        shift = Float(mean)
        divisor = Float(std)
    }

    private func setPercentiles(_ a: Float, _ b: Float) throws {
        let (low, high) = percentiles!
        guard b > a else {
            throw FilterError.unsupported(source: name, what: "the \(low)% and \(high)% percentiles are equal (\(a)): nothing to normalise by", hint: "widen low/high")
        }
        clampRange = a...b
        shift = a
        divisor = b - a
    }
    public func process(_ input: InputRegion, into output: OutputRegion) throws {
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
