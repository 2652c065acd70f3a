/// A stage that only measures: the last stage of the `stats` command's chain. Its prepasses
/// (``GlobalStatisticsPasses``) are `normalize`'s, and accumulate what `s2s` does in its own;
/// it is never asked for output.
public final class StatisticsProbe: PrepassStage {
    public let name = "stats"
    /// The percentiles to find (percent); none makes one pass instead of two.
    public let percents: [Double]
    private var passes: GlobalStatisticsPasses
    private var percentiles: [Double: Float] = [:]
    private var size = Size3(x: 0, y: 0, z: 0)

    public init(percents: [Double]) {
        self.percents = percents
        passes = GlobalStatisticsPasses(stage: "stats", findsPercentiles: !percents.isEmpty)
    }

    public var prepassCount: Int { passes.passCount }

    public func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        size = input.size
        return input
    }

    public func inputBox(forOutput output: Box) -> Box { output }

    public func scratchBytes(forOutput output: Box) -> Int { passes.scratchBytes }

    public func prepass(_ pass: Int, sections: UnsafePointer<Float>, count: Int, info: VolumeInfo) throws {
        passes.add(pass: pass, sections: sections, count: count, info: info)
    }

    public func finishPrepass(_ pass: Int) throws {
        try passes.finish(pass: pass)
        guard pass == 1 else { return }
        for p in percents { percentiles[p] = passes.value(atPercent: p) }
        passes.releaseHistogram()
    }

    /// The statistics measured, once the prepasses ran.
    public func result(source: String, chain: String) -> VolumeStatistics {
        VolumeStatistics(size: size, source: source, chain: chain, statistics: passes.statistics, percentiles: percentiles)
    }

    public func process(_ input: InputRegion, into output: OutputRegion) throws {
        output.copyPlanes(of: input)
    }
}
