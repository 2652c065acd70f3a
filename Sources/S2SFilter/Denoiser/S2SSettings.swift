import FilterKit

/// Everything that decides how the `s2s` stage trains and predicts.
public struct S2SSettings: Sendable, Equatable {
    public var network: UNetConfiguration = .lite
    public var presetName = "lite"
    /// Cubic training patch side (a multiple of 2^pools).
    public var patch = 32
    public var steps = 2000
    /// Training stops after this long even if `steps` are not done.
    public var trainMinutes: Double = 7
    /// Masked copies of a patch per step.
    public var batch = 2
    public var learningRate: Float = 4e-4
    public var mask: MaskKind = .xline(length: 5)
    /// Fraction of voxels hidden.
    public var maskRate: Float = 0.3
    /// Prediction samples averaged per tile.
    public var samples = 8
    /// Output tile side; tiles are predicted with `halo` voxels of context on every side.
    public var tile = 32
    public var halo = 8
    public var seed: UInt64 = 0
    /// Training patches sampled from the volume during the statistics pass.
    public var patchCount = 48
    /// A trained model to use instead of training.
    public var modelPath: String?
    /// Where to save the trained model.
    public var saveModelPath: String?
    /// A `stats --json` file holding the input's mean and standard deviation (no prepass when a
    /// model is given too).
    public var statisticsPath: String?

    public init() {}

    /// The side of the blocks the network sees when predicting.
    public var predictionBlock: Int { tile + 2 * halo }
}
