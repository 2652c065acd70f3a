import FilterKit
import Foundation
import Tomography

/// The stages of this module: `s2s` and `n2n`.
public enum S2SPlugin {
    public static let factories: [any StageFactory.Type] = [S2SFactory.self, N2NFactory.self]
}

/// `s2s`: Self2Self denoising trained on the volume itself.
public enum S2SFactory: StageFactory {
    public static let name = "s2s"
    public static let summary = "Self2Self denoising: a U-Net trained on the noisy volume itself, then an ensemble prediction"
    public static let discussion = """
        Reads the volume once for its mean, standard deviation and training patches (a pipe is
        spooled to $TMPDIR), trains (or loads --model), then predicts tile by tile, each tile the
        mean of --samples draws of hidden voxels and dropout. mask=auto (the default) measures the
        noise correlation of the input on the training patches (as `stdio-filter noise` prints
        it), takes as blind region every neighbour whose correlation reaches --noise-threshold (a
        3-D region on real tomograms, one voxel for white noise) and hides cells of --cell-factor
        times its reach grown by the region, one colour of 8 at a time: the loss counts only the
        cells' own voxels, and prediction runs the 8 colours (--samples / 8 rounds, at least one)
        taking every voxel from the pass in which it is blind, without dropout.
        Then (--distill, default 400 steps, about 3 minutes) the ensemble predicts
        --distill-blocks blocks cut from the volume and a copy of the network learns to give the
        same output from the whole block, without masks; that network predicts every tile in one
        pass (8x fewer than the ensemble, and better: +0.86 dB on the tomographic phantom,
        docs/benchmarks.md issue 18). Tiles are --tile-xy wide in X and Y and --tile deep, seen
        with --halo voxels of context. --save-model keeps both networks; --model of a model
        saved without the distilled one distils it first; --distill 0 predicts with the ensemble.
        mask=xline hides runs of --line voxels along X and scores their centres (noise correlated
        along X only); mask=point is the original Self2Self, mask=block hides cubes, mask=mixed
        draws point or block masks at random for each batch item and prediction sample.
        With --model and --stats (from `stdio-filter stats --json`) there is no prepass at all.
        Halves first: when the program that reconstructed the input wrote its even and odd halves
        beside it (AreTomo3's NAME_EVN_Vol.mrc and NAME_ODD_Vol.mrc beside NAME_Vol.mrc, Warp's
        even/ and odd/ folders), the s2s command trains n2n on them instead and says so (--halves
        none, --tilts, --model or a mask parameter keep s2s): against a known specimen, two
        halves beat every one-volume path (docs/benchmarks.md, issue 35).
        On a weighted back-projection (a real tomogram as IMOD, AreTomo or Warp reconstruct it)
        no blind region hides the noise, which every tilt smears along its rays across the whole
        volume (docs/benchmarks.md, issue 16). There --tilts -60:60:3, --tilts tomo.tlt or
        --tilts auto (found from the power spectrum) split the tomogram into the reconstructions
        of its even- and odd-numbered tilts (as split-tilts does) and measure the signal spectrum
        the two share (their cross-spectrum, per direction and frequency). Near the tilt axis,
        where the split cannot tell the tilts apart, the tomogram is filtered by those Wiener
        gains (kept at 0.3); elsewhere a network trained on the two halves (n2n, --split-steps,
        --split-minutes) denoises it: about 8 minutes on a 128x192x192 crop, and the output
        looks denoised. --split-refine filter filters the whole tomogram by the gains instead:
        about a minute, 1.5x the correlation of the best Gaussian with tilts never seen on the
        real tilt series, but streaked along the tilt axis. Against a known specimen (back-projected
        phantoms at the real noise level, docs/benchmarks.md issue 35) the split scored
        0.58-0.85x the best Gaussian where masks scored 0.95-1.18x, so it is no longer the
        default: --tilts detect (or only split parameters, such as --split-refine filter) makes
        the s2s command look for a tilt series in the input's power spectrum and split when it
        finds one that the back-projection fits, masks otherwise (and in a chain).
        Example: stdio-filter s2s --steps 400 --save-model m.safetensors in.mrc out.mrc
                 stdio-filter s2s --tilts tomo.tlt tomo.mrc out.mrc
        """
    public static let parameters = S2SParameters.network(learningRate: S2SParameters.text(S2SParameters.defaults.learningRate), dropout: S2SParameters.text(S2SParameters.defaults.network.dropout)) + [
        StageParameter("mask", .choice(["auto", "xline", "point", "block", "mixed"]), default: "auto", help: "what is hidden from the network (auto: the measured noise correlation's region)"),
        StageParameter("cell-factor", .integer(2...16), default: S2SParameters.text(S2SParameters.defaults.cellFactor), help: "mask=auto: blind cells this many times the noise correlation's reach on each axis"),
        StageParameter("mask-rate", .number(0.01...0.9), default: S2SParameters.text(S2SParameters.defaults.maskRate), help: "fraction of voxels hidden (xline, point, block, mixed)"),
        StageParameter("noise-threshold", .number(0.01...1), default: S2SParameters.text(MaskSetting.defaultThreshold), help: "mask=auto hides the neighbours whose noise correlation reaches this in magnitude"),
        StageParameter("block", .integer(2...16), default: "2", unit: "voxels", help: "cube edge for mask=block and mask=mixed"),
        StageParameter("line", .integer(3...15), default: "5", unit: "voxels", help: "run length along X for mask=xline"),
        StageParameter("samples", .integer(1...1000), default: S2SParameters.text(S2SParameters.defaults.samples), help: "prediction draws averaged per tile (mask=auto: passes, rounded down to a multiple of 8)"),
        StageParameter("distill", .integer(0...1_000_000), default: S2SParameters.text(S2SParameters.defaults.distillSteps), help: "steps training one network to give the ensemble's output, which then predicts in one pass (at most as many as the training's; 0: predict with the ensemble of --samples passes)"),
        StageParameter("distill-minutes", .number(0...10_000), default: S2SParameters.text(S2SParameters.defaults.distillMinutes), unit: "min", help: "distillation time at most"),
        StageParameter("distill-lr", .number(1e-7...1), default: S2SParameters.text(S2SParameters.defaults.distillLearningRate), help: "Adam learning rate of the distillation"),
        StageParameter("distill-blocks", .integer(1...100_000), default: S2SParameters.text(S2SParameters.defaults.distillBlocks), help: "blocks cut from the volume during the prepass, predicted by the ensemble, that the distilled network learns from"),
        StageParameter("halves", .choice(["auto", "none"]), default: "auto", help: "auto: when the program that reconstructed the input wrote its even and odd halves beside it (AreTomo3: NAME_EVN_Vol.mrc and NAME_ODD_Vol.mrc beside NAME_Vol.mrc; Warp: even/NAME.mrc and odd/NAME.mrc), the s2s command trains n2n on them instead (the best denoiser measured against a known specimen), unless --tilts, --model or a mask parameter is given; none: the input alone"),
        StageParameter("tilts", .path, default: "none", help: "a weighted back-projection's tilt angles (FIRST:LAST:STEP, a .tlt file, or auto: found in its power spectrum): split it into the reconstructions of alternate tilts and filter it by the spectrum they share, instead of masks; detect: auto when a tilt series is found (the s2s command on a whole volume; also when only split parameters are given), else masks; none: masks (the default: against a known specimen masks beat the split, docs/benchmarks.md issue 35)"),
        StageParameter("tilt-axis", .choice(["auto", "y", "x"]), default: "auto", help: "with --tilts: the tilt axis in the volume (auto: the one that fits)"),
        StageParameter("max-residual", .number(0.001...1), default: "0.05", help: "with --tilts: refuse a volume the back-projection fits worse than this"),
        StageParameter("spectrum-bins", .integer(2...64), default: "16", help: "with --tilts: bins per axis of the spectrum measured between the halves"),
        StageParameter("split-depth", .text, default: "auto", help: "with --tilts: sections per window of a deeper tomogram, each window split and filtered on its own and blended (auto: 1280 A at the voxel size, 128 when unknown; whole: one window)"),
        StageParameter("split-refine", .choice(["network", "filter"]), default: "network", help: "with --tilts: network: the band along the tilt axis filtered by the spectrum the halves share, the rest denoised by a network trained on the halves (n2n; looks denoised, about 8 min on a 128x192x192 crop; where the volume, or a window of it, fits --memory with it, else the filter); filter: the Wiener filter of the shared spectrum alone (about 1 min, scores higher against the other half, streaked along the axis)"),
        StageParameter("split-steps", .integer(1...1_000_000), default: S2SParameters.text(S2SParameters.defaults.steps), help: "with --split-refine network: training steps at most (on the first window of a deeper tomogram; the others reuse the network)"),
        StageParameter("split-minutes", .number(0...10_000), default: S2SParameters.text(S2SParameters.defaults.trainMinutes), unit: "min", help: "with --split-refine network: training time at most"),
    ] + S2SParameters.tiling

    /// The parameters that `s2s --tilts` reads (the split and its filter; the others set the
    /// network), and `--halves` (the s2s command's choice of halves beside the input).
    public static let tiltParameters: Set<String> = ["halves", "tilts", "tilt-axis", "max-residual", "spectrum-bins", "split-depth", "split-refine", "split-steps", "split-minutes"]

    /// The parameters of Self2Self's masks and ensemble alone (`n2n` has the others), and
    /// `--model` (an s2s model): given, they choose s2s over halves found beside the input.
    public static var maskParameters: Set<String> {
        Set(parameters.map(\.name)).subtracting(N2NFactory.parameters.map(\.name)).subtracting(tiltParameters).union(["model"])
    }

    public static func make(_ p: StageParameters) throws -> any Stage {
        let tilts = p.text("tilts")
        if tilts != "none", tilts != "detect" { return try makeTiltSplit(p) }
        // The split's parameters are checked whichever denoiser runs (a bad value must not wait
        // for its input, in a chain either).
        _ = (try p.choice("halves"), try p.choice("tilt-axis"), try p.number("max-residual"), try p.integer("spectrum-bins"), try splitDepth(p), try splitRefiner(p))
        var s = try S2SParameters.settings(p)
        // Every parameter is checked, whichever the mask uses.
        let (maskName, block, line, threshold) = (try p.choice("mask"), try p.integer("block"), try p.integer("line"), try p.number("noise-threshold"))
        s.mask = maskName == "auto" ? .measured(threshold: threshold) : .fixed(MaskKind.named(maskName, block: block, line: line)!)
        s.maskRate = Float(try p.number("mask-rate"))
        s.cellFactor = try p.integer("cell-factor")
        s.samples = try p.integer("samples")
        s.distillSteps = try p.integer("distill")
        s.distillMinutes = try p.number("distill-minutes")
        s.distillBlocks = try p.integer("distill-blocks")
        s.distillLearningRate = Float(try p.number("distill-lr"))
        return try S2SStage(settings: s)
    }

    /// `s2s --tilts`: the split into alternate tilts and the Wiener filter of their shared spectrum.
    static func makeTiltSplit(_ p: StageParameters) throws -> TiltSplitDenoiser {
        if let network = p.given.subtracting(tiltParameters).sorted().first {
            throw FilterError.invalidParameter(
                name: network, value: p.text(network),
                expected: "no network parameter with --tilts: s2s --tilts filters the tomogram by the spectrum its split halves share, without a network (--tilts none for masks)")
        }
        let split = try TiltSplit(tilts: p.text("tilts"), axis: try p.choice("tilt-axis"), maxResidual: try p.number("max-residual"))
        return TiltSplitDenoiser(split: split, bins: try p.integer("spectrum-bins"), window: try splitDepth(p), refiner: try splitRefiner(p))
    }

    /// `--split-refine network` (the default): the network trained on the halves, with `--split-steps` and `--split-minutes`.
    static func splitRefiner(_ p: StageParameters) throws -> NetworkSplitRefiner? {
        let (refine, steps, minutes) = (try p.choice("split-refine"), try p.integer("split-steps"), try p.number("split-minutes"))
        return refine == "network" ? NetworkSplitRefiner(steps: steps, trainMinutes: minutes) : nil
    }

    /// `--split-depth`: auto, whole, or a number of sections (at least ``TiltSplit/minimumEdge``).
    static func splitDepth(_ p: StageParameters) throws -> TiltSplitDenoiser.Window {
        let text = p.text("split-depth")
        switch text {
        case "auto": return .auto
        case "whole": return .whole
        default:
            guard let sections = Int(text), sections >= TiltSplit.minimumEdge else {
                throw FilterError.invalidParameter(name: "split-depth", value: text, expected: "auto, whole, or a number of sections of at least \(TiltSplit.minimumEdge)")
            }
            return .sections(sections)
        }
    }
}

/// `n2n`: Noise2Noise denoising trained on two independent halves (even/odd tilts or frames).
public enum N2NFactory: StageFactory {
    public static let name = "n2n"
    public static let summary = "Noise2Noise denoising: the s2s U-Net trained on two independent halves, each towards the other"
    public static let discussion = """
        Takes two inputs: two reconstructions of the same specimen from independent halves of the
        data (even and odd tilts or frames, as Warp, AreTomo3, RELION 5 or IMOD write them); their
        sizes and voxel sizes must agree. Reads both once for the mean, standard deviation and
        training patches at the same positions (a pipe is spooled to $TMPDIR), trains the s2s
        network to predict each half's patch from the other's (the same flips and rotations for
        both; no masks: the halves' noise is independent, however correlated it is within each),
        then predicts tile by tile the mean of both halves' predictions, without dropout
        (deterministic, as cryoCARE). Models saved with --save-model say they were trained on
        halves; --model reuses one.
        Example: stdio-filter n2n even.mrc odd.mrc out.mrc
                 stdio-filter run --chain n2n --pair odd.mrc even.mrc out.mrc
        """
    // No dropout: it served Self2Self's ensemble; here it only blurred what the network learnt
    // (real thirds: 0.0230 with dropout 0.3, 0.0320 without; docs/benchmarks.md, issue 17).
    public static let parameters = S2SParameters.network(learningRate: S2SParameters.text(S2SParameters.defaults.learningRate), dropout: "0") + S2SParameters.tiling
    public static let inputCount = 2

    public static func make(_ p: StageParameters) throws -> any Stage {
        var s = try S2SParameters.settings(p)
        s.halves = true
        return try S2SStage(settings: s)
    }
}

/// The parameters `s2s` and `n2n` share.
enum S2SParameters {
    /// The settings' defaults: the one place they are written (``S2SSettings``); the parameters'
    /// default texts are made from them.
    static let defaults = S2SSettings()

    /// `value` as a parameter's default text (2000, 7, 0.995, 0.0002).
    static func text<Value: BinaryInteger>(_ value: Value) -> String { "\(value)" }
    static func text(_ value: Double) -> String { String(format: "%g", value) }
    static func text(_ value: Float) -> String { String(format: "%g", Double(value)) }

    /// The network and its training, with the stage's default learning rate and dropout.
    static func network(learningRate: String, dropout: String) -> [StageParameter] { [
        StageParameter("preset", .choice(["lite", "full"]), default: defaults.presetName, help: "network size (lite: 0.4 M parameters, full: 3 M)"),
        StageParameter("patch", .integer(8...256), default: text(defaults.patch), unit: "voxels", help: "training patch side (a multiple of 8 for lite, 32 for full)"),
        StageParameter("patches", .integer(1...100_000), default: text(defaults.patchCount), help: "training patches cut from the volume during the prepass (each patch³ × 4 bytes; twice for n2n)"),
        StageParameter("steps", .integer(0...1_000_000), default: text(defaults.steps), help: "training steps at most"),
        StageParameter("train-minutes", .number(0...10_000), default: text(defaults.trainMinutes), unit: "min", help: "training time at most (the usual limit: results then depend on machine speed; give --steps with a large --train-minutes to reproduce a run exactly)"),
        StageParameter("batch", .integer(1...64), default: text(defaults.batch), help: "patches per step"),
        StageParameter("lr", .number(1e-7...1), default: learningRate, help: "Adam learning rate"),
        StageParameter("average", .number(0...0.9999), default: text(defaults.averageDecay), help: "decay of the moving average of the weights that predicts (0: the last step's weights)"),
        StageParameter("dropout", .number(0...0.9), default: dropout, help: "dropout rate of the decoder while training"),
    ] }

    /// Prediction tiles, the seed and models.
    static let tiling = [
        StageParameter("tile", .integer(8...256), default: text(defaults.tile), unit: "voxels", help: "output tile side along Z (a row of tiles holds this many sections)"),
        StageParameter("tile-xy", .integer(8...256), default: text(defaults.tileXY), unit: "voxels", help: "output tile side along X and Y (narrowed to --tile when the memory budget is short)"),
        StageParameter("halo", .integer(0...128), default: text(defaults.halo), unit: "voxels", help: "context around each tile (tile + 2·halo a multiple of 8 for lite; tile-xy grows to the next that fits)"),
        StageParameter("seed", .integer(0...Int(Int32.max)), default: text(defaults.seed), help: "random seed (same seed, same output)"),
        StageParameter("model", .path, default: "none", help: "a trained model (safetensors) to use instead of training"),
        StageParameter("save-model", .path, default: "none", help: "where to save the trained model (safetensors)"),
        StageParameter("stats", .path, default: "none", help: "mean and std from `stdio-filter stats --json` (with --model: no prepass, so a part of a split run reads only its sections)"),
        StageParameter("report", .path, default: "none", help: "a PNG of the run: training loss per step, the measured noise correlation, central sections before and after"),
    ]

    /// The settings of ``network`` and ``tiling``.
    static func settings(_ p: StageParameters) throws -> S2SSettings {
        var s = S2SSettings()
        s.presetName = try p.choice("preset")
        s.network = UNetConfiguration.preset(s.presetName)!
        s.network.dropout = Float(try p.number("dropout"))
        s.patch = try p.integer("patch")
        s.patchCount = try p.integer("patches")
        s.steps = try p.integer("steps")
        s.trainMinutes = try p.number("train-minutes")
        s.batch = try p.integer("batch")
        s.learningRate = Float(try p.number("lr"))
        s.averageDecay = Float(try p.number("average"))
        s.tile = try p.integer("tile")
        s.tileXY = try p.integer("tile-xy")
        s.halo = try p.integer("halo")
        s.seed = UInt64(try p.integer("seed"))
        s.modelPath = try p.path("model")
        s.saveModelPath = try p.path("save-model")
        s.statisticsPath = try p.path("stats")
        s.reportPath = try p.path("report")
        let m = 1 << s.network.pools
        guard s.patch % m == 0 else {
            throw FilterError.invalidParameter(name: "\(p.stage) patch", value: "\(s.patch)", expected: "a multiple of \(m) for the \(s.presetName) net")
        }
        return s
    }
}
