import FilterKit

/// Everything that decides how the `s2s` stage trains and predicts.
public struct S2SSettings: Sendable, Equatable {
    public var network: UNetConfiguration = .lite
    public var presetName = "lite"
    /// Noise2Noise (`n2n`): train on two independent halves of the data, each predicting the
    /// other, and predict both halves' mean; no masks. Otherwise Self2Self on the volume itself.
    public var halves = false
    /// Cubic training patch side (a multiple of 2^pools).
    public var patch = 32
    public var steps = 2000
    /// Training stops after this long even if `steps` are not done.
    public var trainMinutes: Double = 7
    /// Masked copies of a patch per step.
    public var batch = 2
    public var learningRate: Float = 4e-4
    /// Decay of the moving average of the weights used for prediction (0: the last weights).
    public var averageDecay: Float = 0.995
    /// What is hidden from the network: by default the neighbourhood whose noise correlation the
    /// input shows.
    public var mask: MaskSetting = .measured(threshold: MaskSetting.defaultThreshold)
    /// Cell sides of `--mask auto` as multiples of the blind region's extent (``BlindCells``).
    public var cellFactor = 3
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

/// How `s2s` chooses its mask: from the noise it measures, or as given.
public enum MaskSetting: Sendable, Equatable {
    /// `--mask auto`: measure the input's noise correlation (``NoiseCorrelation``) and hide every
    /// offset whose correlation reaches `threshold` in magnitude (``BlindRegion``).
    case measured(threshold: Double)
    /// `--mask point|block|xline|mixed`.
    case fixed(MaskKind)

    /// The correlation below which a neighbour stays visible: it explains at most 1 % of a
    /// voxel's noise variance (ρ² ≤ 0.01).
    public static let defaultThreshold = 0.1
}

