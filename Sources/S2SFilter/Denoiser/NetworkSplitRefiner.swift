import FilterKit
import Tomography

/// The s2s network trained by Noise2Noise on the two halves of a split (each towards the other,
/// as `n2n`), which then denoises the volume: what `s2s --split-refine network` runs away from
/// the band along the tilt axis (``HalfSpectrumWiener/refine(volume:first:second:size:bins:axis:refiner:bandWeight:)``).
///
/// Both runs are ordinary chains of one ``S2SStage`` over volumes held in memory: training in
/// the prepass over the halves, then a prepass for the volume's own mean and standard deviation
/// and prediction tile by tile.
public final class NetworkSplitRefiner: SplitRefiner {
    public let settings: S2SSettings
    /// The memory budget of each chain.
    public let memoryBudget: Int

    /// `settings` as `n2n`'s (two halves, no dropout), with the given training length.
    public init(steps: Int, trainMinutes: Double, seed: UInt64 = 0, memoryBudget: Int = 512 << 20) {
        var s = S2SSettings()
        s.halves = true
        s.network.dropout = 0
        s.steps = steps
        s.trainMinutes = trainMinutes
        s.seed = seed
        settings = s
        self.memoryBudget = memoryBudget
    }

    /// Each of its chains plans within ``memoryBudget``.
    public var memoryBytes: Int { memoryBudget }

    public var description: String { "a network trained on the halves (n2n, up to \(settings.steps) steps or \(formatMinutes(settings.trainMinutes)))" }

    /// The stage trained by the first ``denoise(first:second:volume:size:)``; later calls (the
    /// next windows of a deep tomogram) predict with it without training again.
    private var trained: S2SStage?

    public func denoise(first: [Float], second: [Float], volume: [Float], size: Size3) throws -> [Float] {
        let info = VolumeInfo(size: size, elementType: .float32, voxelSize: SIMD3(repeating: 1))
        let options = PipelineOptions(memoryBudget: memoryBudget, backgroundIO: false)
        let stage: S2SStage
        if let trained {
            stage = trained
            Log.info("the network trained on the first window's halves predicts this one")
        } else {
            stage = try S2SStage(settings: settings)
            try Pipeline(
                reader: MemoryVolumeReader(first, info: info, name: "the first half"), second: MemoryVolumeReader(second, info: info, name: "the second half"),
                stages: [stage], options: options
            ).runPrepasses()
            trained = stage
        }
        stage.resetStatistics()
        let reader = MemoryVolumeReader(volume, info: info, name: "the volume")
        let prediction = try Pipeline(reader: reader, second: reader, stages: [stage], options: options)
        let writer = MemoryVolumeWriter(info: info)
        try prediction.run(writer: writer)
        try writer.finish()
        return writer.values
    }
}
