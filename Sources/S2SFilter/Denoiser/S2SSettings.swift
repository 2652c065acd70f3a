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
    /// Steps of distillation of the ensemble into one network that predicts in one pass
    /// (``Distillation``; s2s only); 0 predicts with the ensemble.
    public var distillSteps = 400
    /// Distillation stops after this long even if `distillSteps` are not done.
    public var distillMinutes: Double = 3
    /// Blocks cut from the volume during the prepass for distillation.
    public var distillBlocks = 64
    /// Adam's learning rate for distillation (tune_white: 33.30 dB at 0.0002, 32.75 at 0.0004).
    public var distillLearningRate: Float = 2e-4
    /// Output tile side along Z (a row of tiles holds this many sections); tiles are predicted
    /// with `halo` voxels of context on every side.
    public var tile = 32
    /// Output tile side along X and Y: wider than `tile`, as a row's memory grows with `tile`
    /// only and the halo then costs less per output voxel (80×80×48 blocks for 64×64×32 kept:
    /// 2.3 network voxels per output voxel, 48³ blocks for 32³: 3.4). The plan narrows it to
    /// `tile` when the memory budget is short; small sections clamp it.
    public var tileXY = 64
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
    /// Where to draw the run's picture (loss, noise correlation, sections before and after).
    public var reportPath: String?

    public init() {}

    /// The depth (Z) of the blocks the network sees when predicting.
    public var predictionBlock: Int { tile + 2 * halo }

    /// Whether the ensemble is distilled into a student network (s2s trained here or a model).
    public var distils: Bool { distillSteps > 0 && !halves }
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

