/// A stage that only measures: the last stage of the `stats` command's chain. Its prepasses
/// accumulate exactly what `normalize` and `s2s` accumulate in theirs (``RunningStatistics``
/// section by section, then a ``PercentileHistogram``); it is never asked for output.
public final class StatisticsProbe: PrepassStage {
    public let name = "stats"
    /// The percentiles to find (percent); none makes one pass instead of two.
    public let percents: [Double]
    private var statistics = RunningStatistics()
    private var histogram: PercentileHistogram?
    private var percentiles: [Double: Float] = [:]
    private var size = Size3(x: 0, y: 0, z: 0)

    public init(percents: [Double]) {
        self.percents = percents
    }

    public var prepassCount: Int { percents.isEmpty ? 1 : 2 }

    public func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        size = input.size
        return input
    }

    public func inputBox(forOutput output: Box) -> Box { output }

    public func scratchBytes(forOutput output: Box) -> Int { percents.isEmpty ? 0 : PercentileHistogram.defaultBytes }

    public func prepass(_ pass: Int, sections: UnsafePointer<Float>, count: Int, info: VolumeInfo) throws {
        let n = count * info.size.sectionVoxels
        if pass == 0 { statistics.add(sections, count: n) } else { histogram!.add(sections, count: n) }
    }

    public func finishPrepass(_ pass: Int) throws {
        if pass == 0 {
            guard statistics.minimum.isFinite, statistics.maximum.isFinite, statistics.mean.isFinite else {
                throw FilterError.unsupported(source: name, what: "the volume holds NaN or infinite values", hint: "")
            }
            if !percents.isEmpty { histogram = PercentileHistogram(minimum: statistics.minimum, maximum: statistics.maximum) }
            return
        }
        for p in percents { percentiles[p] = histogram!.value(atPercent: p) }
        histogram = nil
    }

    /// The statistics measured, once the prepasses ran.
    public func result(source: String, chain: String) -> VolumeStatistics {
        VolumeStatistics(size: size, source: source, chain: chain, statistics: statistics, percentiles: percentiles)
    }

    public func process(_ input: Tile, into output: MutableTile) throws {
        output.copyPlanes(of: input)
    }
}
