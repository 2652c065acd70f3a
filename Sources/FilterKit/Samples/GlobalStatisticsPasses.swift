/// The prepasses that measure a volume's global statistics, shared by `stats`
/// (``StatisticsProbe``) and `normalize`: pass 0 accumulates ``RunningStatistics`` section by
/// section; when percentiles are wanted, pass 1 fills a ``PercentileHistogram`` between the
/// minimum and maximum that pass 0 found.
public struct GlobalStatisticsPasses {
    /// The stage measuring, for messages.
    public let stage: String
    /// Whether a second pass finds percentiles.
    public let findsPercentiles: Bool
    /// What pass 0 measured.
    public private(set) var statistics = RunningStatistics()
    private var histogram: PercentileHistogram?

    public init(stage: String, findsPercentiles: Bool) {
        self.stage = stage
        self.findsPercentiles = findsPercentiles
    }

    /// 1, or 2 with percentiles.
    public var passCount: Int { findsPercentiles ? 2 : 1 }

    /// The histogram's bytes when percentiles are found, else 0.
    public var scratchBytes: Int { findsPercentiles ? PercentileHistogram.defaultBytes : 0 }

    /// Adds `count` sections to pass `pass`.
    public mutating func add(pass: Int, sections: UnsafePointer<Float>, count: Int, info: VolumeInfo) {
        let n = count * info.size.sectionVoxels
        if pass == 0 { statistics.add(sections, count: n) } else { histogram!.add(sections, count: n) }
    }

    /// Ends pass `pass`: after pass 0, refuses NaN or infinite values and sets up the histogram.
    public mutating func finish(pass: Int) throws {
        guard pass == 0 else { return }
        guard statistics.minimum.isFinite, statistics.maximum.isFinite, statistics.mean.isFinite else { throw Self.notFinite(stage) }
        if findsPercentiles { histogram = PercentileHistogram(minimum: statistics.minimum, maximum: statistics.maximum) }
    }

    /// The value at `percent` of the voxels, after pass 1.
    public func value(atPercent percent: Double) -> Float { histogram!.value(atPercent: percent) }

    /// Frees the histogram once its percentiles are read.
    public mutating func releaseHistogram() { histogram = nil }

    /// The error for a volume holding NaN or infinite values.
    public static func notFinite(_ stage: String) -> FilterError {
        .unsupported(source: stage, what: "the volume holds NaN or infinite values", hint: "")
    }
}
