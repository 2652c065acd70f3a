import CMalloc
import FilterKit

/// Self2Self denoising as a streaming stage (Quan et al. 2020, in 3-D for tomograms), and with
/// two independent halves of the data Noise2Noise (`n2n`, Lehtinen et al. 2018, as cryoCARE).
///
/// - **Prepass** (the input is read once before the output): global mean and standard deviation,
///   and training patches at positions chosen up front from the seed, filled as sections pass.
/// - **Noise correlation** measured on those patches (``NoiseCorrelation``) and the mask that hides
///   it (``BlindRegion``), unless a mask kind is given.
/// - **Training** on those patches with random flips and XY rotations (applied to the mask too),
///   hidden voxels from ``MaskKind``, the loss on fully hidden voxels only (or a saved model,
///   `--model`).
/// - **Prediction** tile by tile on a global grid of `tile`-sided cubes, each seen with `halo`
///   voxels of context, as the mean of `samples` mask and dropout draws keyed to the tile's
///   coordinates, so the output does not depend on slab size, thread count or a pipe.
///
/// With ``S2SSettings/halves`` the stage reads a second input (``PairedInputStage``): patches at
/// the same positions of both halves, training of each half's patch towards the other's (same
/// flips and rotations, no masks, the loss on every voxel), and prediction as the mean of both
/// halves' predictions (deterministic, no dropout).
///
/// The stage holds what the phases share (settings, the networks, the mask, the mean and
/// standard deviation, the tile geometry) and runs the prepass; ``S2STrainer`` trains,
/// ``MaskEnsemble`` predicts a block with the masks (for distillation and prediction), and
/// ``S2SPredictor`` predicts the rows of tiles and holds their buffers.
public final class S2SStage: PairedInputStage, StatisticsConsumer {
    public var name: String { settings.halves ? N2NFactory.name : S2SFactory.name }
    public var takesSecondInput: Bool { settings.halves }
    public var boundary: BoundaryMode { .reflect }
    /// Any rectangle of the output comes from the tiles of the volume's grid that meet it:
    /// runs on bricks (Self2Self; two halves are read as whole sections).
    public var supportsBricks: Bool { !settings.halves }
    /// Bricks of whole tiles, so that no tile is predicted twice.
    public var brickAlignment: Int { max(1, tileXY) }
    public private(set) var settings: S2SSettings
    /// The network that trains (and predicts with the ensemble): loaded from `--model`, or built
    /// on first use, so that listing, planning and refusing a chain cost no network.
    public var network: UNet {
        if let builtNetwork { return builtNetwork }
        let built = UNet(settings.network, seed: settings.seed)
        builtNetwork = built
        return built
    }
    private var builtNetwork: UNet?
    /// The network distilled from the ensemble (``Distillation``), which predicts in one pass.
    public private(set) var student: UNet?
    private var statistics = RunningStatistics()
    /// The input's mean and standard deviation that standardise it for the network: from the
    /// prepass, or from `--stats`.
    private var moments: (mean: Double, standardDeviation: Double)?
    /// Statistics given with `--stats`, and the file's path for messages.
    public let statisticsFile: (statistics: VolumeStatistics, path: String)?
    /// The training patches, while the prepass fills them and training uses them.
    private var sampler: PatchSampler?
    /// The second half's patches at the same positions (two halves).
    private var secondSampler: PatchSampler?
    /// Blocks for distillation, cut during the prepass.
    private var distillSampler: PatchSampler?
    /// The mask used for training and prediction: given, read from the model, or built from the
    /// measured noise correlation at the end of the prepass.
    public private(set) var mask: MaskKind?
    /// The noise correlation measured in the prepass (`--mask auto`).
    public private(set) var noiseCorrelation: NoiseCorrelation?
    private var volume = Size3(x: 0, y: 0, z: 0)
    /// The side of the distillation blocks: the prediction's block depth, or less in a small volume.
    private var distillSide = 0
    /// The output tiles' side along X and Y: `settings.tileXY`, less for small sections or a
    /// short memory budget (``reduceMemory()``).
    private var tileXY = 0
    /// The output tiles' side along X and Y this run uses.
    public var tileSideXY: Int { tileXY }
    private var trained = false
    /// Prediction with the trained network, made at the first ``process(_:into:)`` of a run.
    private var predictor: S2SPredictor?
    /// Memory oneDNN holds beyond our buffers while predicting (its primitives' reordered copies
    /// and scratch), per voxel of a block: measured on a 1 GiB run with 80×80×48 blocks, whose
    /// peak RSS was 542 MiB where the plan without it said 499 MiB (43 MiB, 147 bytes per voxel).
    static let oneDNNScratchPerBlockVoxel = 160

    /// The stage's two peaks in the last ``scratchBytes(forOutput:)``: before prediction (training,
    /// distillation) and while predicting, so that ``reduceMemory()`` shrinks the larger.
    private var lastPeaks: (ahead: Int, predicting: Int)?
    /// The final training loss and the steps done, for the model's metadata.
    public private(set) var finalLoss: Float?
    /// The loss of every training step, for `--report`.
    public private(set) var lossHistory: [Float] = []
    private var trainedSteps = 0
    /// The metadata of the model given with `--model`, kept when it is saved with a new student.
    private var modelMetadata: [String: String] = [:]
    /// The distillation's steps and final loss, for the model's metadata.
    private var distilled: (steps: Int, loss: Float)?

    /// Buffers of 1 MiB and more get their own mappings, so what training frees (hundreds of MiB
    /// of activations) leaves the resident set instead of staying in malloc's heap. Set once per
    /// process; the stage allocates its buffers once per phase, so the mappings cost nothing.
    private static let largeBuffersMapped: Void = { _ = sf_malloc_mmap_threshold(1 << 20) }()

    public init(settings: S2SSettings) throws {
        S2SStage.largeBuffersMapped
        self.settings = settings
        statisticsFile = try settings.statisticsPath.map { (try VolumeStatistics.load($0), $0) }
        if let (given, _) = statisticsFile { try S2SStage.checkMoments(mean: given.mean, standardDeviation: given.standardDeviation) }
        if let path = settings.modelPath {
            let (net, metadata) = try UNet.load(from: path)
            builtNetwork = net
            modelMetadata = metadata
            self.settings.network = net.configuration
            let method = metadata["s2s.method"] ?? S2SStage.selfToSelfMethod
            guard (method == S2SStage.twoHalvesMethod) == settings.halves else {
                throw FilterError.unsuitableInput(
                    what: "\(settings.halves ? N2NFactory.name : S2SFactory.name) model \(path)",
                    found: method == S2SStage.twoHalvesMethod ? "trained on two halves by n2n" : "trained by s2s with masks",
                    expected: method == S2SStage.twoHalvesMethod ? "a model trained by s2s (use this one with n2n)" : "a model trained on two halves by n2n (use this one with s2s)")
            }
            if settings.halves {
                Log.info("model \(path): trained on two halves, \(metadata["s2s.steps"] ?? "?") steps")
            } else {
                mask = try S2SStage.predictionMask(settings.mask, metadata: metadata, path: path)
                student = settings.distils ? try UNet.loadStudent(from: path) : nil
                let how = student == nil ? "with \(mask!) masks" : "with its distilled network (\(metadata["s2s.distill_steps"] ?? "?") steps)"
                Log.info("model \(path): trained with \(metadata["s2s.mask"] ?? "unknown") masks, \(metadata["s2s.steps"] ?? "?") steps; predicting \(how)")
            }
            trained = true
        } else {
            if case let .fixed(kind) = settings.mask, !settings.halves { mask = kind }
        }
        let m = self.settings.network.sizeMultiple
        guard settings.predictionBlock % m == 0 else {
            throw FilterError.invalidParameter(name: "\(name) tile/halo", value: "\(settings.tile)/\(settings.halo)", expected: "tile + 2·halo a multiple of \(m) for this network")
        }
        // Blocks are multiples of m along X and Y too: the tile widens to the next that fits.
        tileXY = settings.tileXY + (m - (settings.tileXY + 2 * settings.halo) % m) % m
    }

    public func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        volume = input.size
        predictor = nil
        if let (given, path) = statisticsFile {
            try given.check(describes: input.size, stage: name, path: path)
            moments = (given.mean, given.standardDeviation)
        }
        var info = input
        info.elementType = .float32
        let m = settings.network.sizeMultiple
        let smallest = min(input.size.x, input.size.y, input.size.z)
        // Sections narrower than a tile: the narrowest tile that covers them (same residue
        // modulo m as `tile`, so tile + 2·halo stays a multiple of m).
        let across = max(input.size.x, input.size.y)
        if across < tileXY, tileXY > settings.tile {
            tileXY = max(settings.tile, settings.tile + (across - settings.tile + m - 1) / m * m)
        }
        distillSide = min(settings.predictionBlock, smallest / m * m)
        if needsDistillation, distillSide < m {
            throw FilterError.unsuitableInput(what: "the s2s input size", found: "\(input.size)", expected: "at least \(m) voxels along every axis for distillation blocks")
        }
        if !trained {
            let side = min(settings.patch, smallest / m * m)
            guard side >= m else {
                throw FilterError.unsuitableInput(what: "the s2s input size", found: "\(input.size)", expected: "at least \(m) voxels along every axis for training patches")
            }
            if side != settings.patch { Log.info("training patches of \(side)³ (the volume is \(input.size))") }
            settings.patch = side
        }
        return info
    }

    /// When the plan does not fit the budget: tiles narrowed to `tile` along X and Y (prediction
    /// costs 1.4× more per voxel), then fewer distillation blocks (down to 16).
    public func reduceMemory() -> String? {
        predictor = nil
        // Distillation's blocks first when they, not prediction, set the stage's peak.
        if needsDistillation, settings.distillBlocks > 16, let peaks = lastPeaks, peaks.ahead > peaks.predicting {
            settings.distillBlocks /= 2
            return "distilling from \(settings.distillBlocks) blocks instead of \(2 * settings.distillBlocks) to fit the memory budget"
        }
        if tileXY > settings.tile {
            let wide = tileXY
            tileXY = settings.tile
            return "tiles of \(settings.tile)³ instead of \(wide)×\(wide)×\(settings.tile) to fit the memory budget"
        }
        if needsDistillation, settings.distillBlocks > 16 {
            settings.distillBlocks /= 2
            return "distilling from \(settings.distillBlocks) blocks instead of \(2 * settings.distillBlocks) to fit the memory budget"
        }
        return nil
    }

    public var prepassCount: Int { trained && statisticsFile != nil && !needsDistillation ? 0 : 1 }

    /// Whether the prepass cuts blocks to distil the ensemble into ``student`` (when training, or
    /// with a model saved without a student).
    private var needsDistillation: Bool { settings.distils && student == nil }

    /// The model metadata's `s2s.method`: which training made the weights.
    static let selfToSelfMethod = "self2self", twoHalvesMethod = "noise2noise"

    /// The network's activations and a row of tiles need more than the streaming stages: 512 MiB
    /// holds sections up to about 900×900 with the default tiles.
    public var suggestedMemoryBudget: Int? { 512 << 20 }

    public func inputBox(forOutput output: Box) -> Box {
        let (t, w, h) = (settings.tile, tileXY, settings.halo)
        let z0 = output.origin.z / t * t, z1 = (output.origin.z + output.size.z + t - 1) / t * t
        let x1 = (output.origin.x + output.size.x + w - 1) / w * w, y1 = (output.origin.y + output.size.y + w - 1) / w * w
        let x0 = output.origin.x / w * w, y0 = output.origin.y / w * w
        return Box(origin: SIMD3(x0 - h, y0 - h, z0 - h), size: Size3(x: x1 - x0 + 2 * h, y: y1 - y0 + 2 * h, z: z1 - z0 + 2 * h))
    }

    /// `count` consecutive sections touch at most ⌊(count + tile − 2)/tile⌋ + 1 rows of tiles.
    public func maximumInputSections(forOutputSections count: Int) -> Int? {
        let t = settings.tile
        return ((count + t - 2) / t + 1) * t + 2 * settings.halo
    }

    public func scratchBytes(forOutput output: Box) -> Int {
        // Training (a batch of patches, forward and backward, and the patches) ends before the
        // first prediction, which holds the cached row of tiles and one block's activations.
        let s = settings, p = s.patch, b = s.predictionBlock, bxy = tileXY + 2 * s.halo
        let row = s.tile * output.size.x * output.size.y * 4
        let patchSets = s.halves ? 2 : 1
        let d = s.predictionBlock, ds = Distillation.side(block: d, patch: p, multiple: s.network.sizeMultiple)
        // Distillation: the ensemble predicts the blocks (an inference pass), then the student
        // trains on their centres; the training patches are gone by then.
        let teaching = s.network.activationBytes(TensorShape(depth: d, height: d, width: d, channels: 1), training: false) + (s.distillBlocks + 5) * d * d * d * 4
        let learning = s.network.activationBytes(TensorShape(depth: ds, height: ds, width: ds, channels: 1), training: true) + 5 * ds * ds * ds * 4
        let distilling = needsDistillation ? max(teaching, learning) + 2 * s.distillBlocks * ds * ds * ds * 4 : 0
        let learningFromPatches = s.network.activationBytes(TensorShape(batch: s.batch, depth: p, height: p, width: p, channels: 1), training: true)
            + (patchSets * s.patchCount + 4 * s.batch) * p * p * p * 4
        let training = (trained ? 0 : learningFromPatches) + s.network.workspaceBytes(training: true, workers: Parallel.threads)
        let ahead = max(training, distilling + s.network.workspaceBytes(training: true, workers: Parallel.threads))
        // A block and its mask, and for two halves a sum, for the ensemble also its masks.
        let blockBuffers = s.halves ? 3 : s.distils ? 2 : 5
        let predicting = s.network.activationBytes(TensorShape(depth: b, height: bxy, width: bxy, channels: 1), training: false)
            + s.network.workspaceBytes(training: false, workers: Parallel.threads)
            + (blockBuffers * 4 + S2SStage.oneDNNScratchPerBlockVoxel) * b * bxy * bxy
        lastPeaks = (ahead, row + predicting)
        return max(ahead, row + predicting)
    }

    /// Forgets the measured mean and standard deviation, so that the next prepass measures its
    /// input anew: a network trained in one chain (on two halves) then predicts another volume
    /// standardised by its own statistics.
    public func resetStatistics() {
        predictor = nil
        statistics = RunningStatistics()
        if statisticsFile == nil { moments = nil }
    }

    // MARK: Prepass: statistics and training patches

    public func prepass(_ pass: Int, sections: UnsafePointer<Float>, count: Int, info: VolumeInfo) throws {
        if statisticsFile == nil { statistics.add(sections, count: count * info.size.sectionVoxels) }
        if !trained {
            if sampler == nil { sampler = PatchSampler(count: settings.patchCount, side: settings.patch, volume: info.size, seed: settings.seed) }
            sampler!.add(sections: sections, count: count, size: info.size)
        }
        guard needsDistillation else { return }
        if distillSampler == nil {
            distillSampler = PatchSampler(count: settings.distillBlocks, side: distillSide, volume: info.size, seed: settings.seed &+ 0xD157)
        }
        distillSampler!.add(sections: sections, count: count, size: info.size)
    }

    /// The prepass over two halves: statistics of both together, patches at the same positions.
    public func prepass(_ pass: Int, sections: UnsafePointer<Float>, second: UnsafePointer<Float>, count: Int, info: VolumeInfo) throws {
        try prepass(pass, sections: sections, count: count, info: info)
        if statisticsFile == nil { statistics.add(second, count: count * info.size.sectionVoxels) }
        guard !trained else { return }
        if secondSampler == nil { secondSampler = PatchSampler(count: settings.patchCount, side: settings.patch, volume: info.size, seed: settings.seed) }
        secondSampler!.add(sections: second, count: count, size: info.size)
    }

    public func finishPrepass(_ pass: Int) throws {
        predictor = nil
        if statisticsFile == nil {
            try S2SStage.checkMoments(mean: statistics.mean, standardDeviation: statistics.standardDeviation)
            moments = (statistics.mean, statistics.standardDeviation)
        }
        if !trained {
            if case let .measured(threshold) = settings.mask, !settings.halves { measureNoise(threshold: threshold) }
            try train()
            (sampler, secondSampler) = (nil, nil)
            if needsDistillation { try distil() }
            try saveModel()
        } else if needsDistillation {
            try distil()
            try saveModel()
        }
        sampler = nil
        secondSampler = nil
        distillSampler = nil
    }

    /// Measures the noise correlation on the training patches and builds the mask that hides it.
    private func measureNoise(threshold: Double) {
        let sampler = sampler!
        let correlation = NoiseCorrelation.estimate(cubes: sampler.patches, side: sampler.side)
        let region = correlation.blindRegion(threshold: threshold)
        noiseCorrelation = correlation
        let cells = BlindCells(region: region, factor: settings.cellFactor)
        mask = .cells(cells)
        Log.info("noise correlation at lags 1…3: \(correlation.summary())")
        Log.info("blind region (|ρ| ≥ \(threshold)): \(region); cells of \(cells.cell.x)×\(cells.cell.y)×\(cells.cell.z), \(String(format3: Float(100 * cells.hiddenFraction))) % hidden per pass")
        if region.offsets.count > 9 {
            Log.info("note: noise correlated over \(region.offsets.count) voxels, as on real tomograms: there masks do not beat a well-chosen Gaussian (docs/benchmarks.md, issue 16); a weighted back-projection is split into its alternate tilts instead (s2s --tilts ANGLES when its tilt series was not found), and with two halves (even/odd tilts or frames) `stdio-filter n2n` does better")
        }
        let e = region.extent, r = NoiseCorrelation.radius
        if e.x == r || e.y == r || e.z == r {
            Log.info("warning: the noise is correlated as far as the measured lags reach (±\(r)): the blind region may be too small")
        }
    }

    /// The mask to predict with when a model is given: the one asked for, or with `--mask auto`
    /// the one the model was trained with (its blind region, or its named mask).
    static func predictionMask(_ setting: MaskSetting, metadata: [String: String], path: String) throws -> MaskKind {
        if case let .fixed(kind) = setting { return kind }
        if let text = metadata["s2s.blind_region"], let region = BlindRegion(metadata: text) {
            let cell = metadata["s2s.blind_cells"].map { $0.split(separator: ",").compactMap { Int($0) } }
            if let cell, cell.count == 3, cell.allSatisfy({ (1...256).contains($0) }) { return .cells(BlindCells(region: region, cell: SIMD3(cell))) }
        }
        if let text = metadata["s2s.mask"], let kind = MaskKind(metadata: text) { return kind }
        throw FilterError.invalidParameter(name: "s2s mask", value: "auto", expected: "a mask kind (point, block, xline) for model \(path), which does not say which mask trained it")
    }

    private static func checkMoments(mean: Double, standardDeviation: Double) throws {
        guard standardDeviation > 0, mean.isFinite, standardDeviation.isFinite else {
            throw FilterError.unsupported(source: "s2s", what: "the volume is constant or holds NaN/infinite values: nothing to denoise", hint: "")
        }
    }

    // MARK: Training

    private func train() throws {
        let trainer = S2STrainer(settings: settings, network: network, mask: mask, stageName: name)
        // The trainer standardises the patches in place: they leave the stage (no second copy).
        var (patches, others) = (sampler!, secondSampler)
        (sampler, secondSampler) = (nil, nil)
        let result = try trainer.train(patches: &patches, others: &others, moments: moments!, estimate: logEstimate)
        (trainedSteps, finalLoss, lossHistory) = (result.steps, result.finalLoss, result.lossHistory)
        trained = true
    }

    /// The whole run's time, estimated from the first training steps: a network pass costs about
    /// a third of a training step per voxel (forward, then backward for data and weights).
    private func logEstimate(secondsPerStep: Double, stepsLeft: Int) {
        let s = settings, p = Double(s.patch)
        let perVoxel = secondsPerStep / (3 * Double(s.batch) * p * p * p)
        let d = Double(s.predictionBlock), bxy = Double(tileXY + 2 * s.halo)
        let training = Double(max(0, stepsLeft)) * secondsPerStep
        let ensemblePasses = Double(mask.map { MaskEnsemble.passes(mask: $0, samples: s.samples) } ?? 1)
        var distilling = 0.0
        if settings.distils {
            // The ensemble predicts a block per step; a student step is one block of `ds`³.
            let ds = Double(Distillation.side(block: s.predictionBlock, patch: s.patch, multiple: s.network.sizeMultiple))
            let steps = Double(min(s.distillSteps, s.steps)), blocks = min(Double(s.distillBlocks), steps)
            let learning = steps * secondsPerStep * Double(Distillation.batch) * ds * ds * ds / (Double(s.batch) * p * p * p)
            distilling = min(s.distillMinutes * 60, learning) + blocks * ensemblePasses * d * d * d * perVoxel
        }
        let passes = settings.halves ? 2.0 : settings.distils ? 1 : ensemblePasses
        let (t, w) = (s.tile, tileXY)
        let blocks = Double(((volume.x + w - 1) / w) * ((volume.y + w - 1) / w) * ((volume.z + t - 1) / t))
        let predicting = blocks * passes * d * bxy * bxy * perVoxel
        let total = training + distilling + predicting
        Log.info("estimate for the whole run: \(formatMinutes(total / 60)) more (training \(formatMinutes(training / 60))\(settings.distils ? ", distillation \(formatMinutes(distilling / 60))" : ""), prediction \(formatMinutes(predicting / 60)): \(Int(blocks)) blocks of \(Int(bxy))×\(Int(bxy))×\(Int(d)) × \(Int(passes)) pass\(passes == 1 ? "" : "es"))")
    }

    /// Saves the trained network (and its student) with `--save-model`.
    private func saveModel() throws {
        let s = settings
        guard let path = s.saveModelPath else { return }
        var metadata = s.modelPath != nil ? modelMetadata : [
            "s2s.method": s.halves ? S2SStage.twoHalvesMethod : S2SStage.selfToSelfMethod, "s2s.steps": "\(trainedSteps)", "s2s.patch": "\(s.patch)",
            "s2s.batch": "\(s.batch)", "s2s.lr": "\(s.learningRate)", "s2s.seed": "\(s.seed)",
            "s2s.final_loss": "\(finalLoss ?? .nan)", "s2s.mean": "\(moments!.mean)", "s2s.std": "\(moments!.standardDeviation)",
        ]
        if let mask, s.modelPath == nil {
            metadata["s2s.mask"] = "\(mask)"
            metadata["s2s.mask_rate"] = "\(s.maskRate)"
        }
        if case let .cells(cells) = mask {
            metadata["s2s.blind_region"] = cells.region.metadata
            metadata["s2s.blind_cells"] = "\(cells.cell.x),\(cells.cell.y),\(cells.cell.z)"
        }
        if let noiseCorrelation { metadata["s2s.noise_correlation"] = noiseCorrelation.metadata }
        if let distilled {
            metadata["s2s.distill_steps"] = "\(distilled.steps)"
            metadata["s2s.distill_loss"] = "\(distilled.loss)"
        }
        try network.save(to: path, metadata: metadata, student: student)
        Log.info("model saved to \(path)")
    }

    // MARK: Distillation

    /// Predicts the distillation blocks with the ensemble and trains ``student`` on them.
    private func distil() throws {
        let s = settings
        // A short training (a quick try, a test) gets as short a distillation, and no more
        // blocks than it has steps (one block per step).
        let trainingSteps = s.modelPath == nil ? trainedSteps : modelMetadata["s2s.steps"].flatMap(Int.init) ?? s.distillSteps
        let steps = max(1, min(s.distillSteps, trainingSteps))
        let start = ProgressReporter.now()
        let distillation = ensembleTargets(count: steps)
        Log.info("ensemble predictions of \(distillation.inputs.count) blocks of \(distillSide)³ for distillation in \(formatMinutes((ProgressReporter.now() - start) / 60))")
        var configuration = s.network
        configuration.dropout = 0
        let student = UNet(configuration, seed: s.seed)
        for (to, from) in zip(student.parameters, network.parameters) { to.value.update(from: from.value, count: from.count) }
        student.parametersChanged()
        distilled = try distillation.train(student, settings: s, steps: steps, minutes: s.distillMinutes)
        Log.info("distilled \(distilled!.steps) steps in \(formatMinutes((ProgressReporter.now() - start) / 60)), final loss \(String(format3: distilled!.loss))")
        self.student = student
        _ = sf_malloc_trim()
    }

    /// The first `count` distillation blocks (the sampler is released) and the ensemble's
    /// prediction of each, cut to their centres: the student learns from voxels whose ensemble
    /// prediction had the full halo as context (a core of `patch`³ in the loss, a margin of
    /// context around it).
    private func ensembleTargets(count: Int) -> Distillation {
        let s = settings, n = distillSide, m = s.network.sizeMultiple
        let (mean, std) = (Float(moments!.mean), Float(moments!.standardDeviation))
        let blocks = distillSampler!
        distillSampler = nil
        let side = Distillation.side(block: n, patch: s.patch, multiple: m), cut = (n - side) / 2
        func centre(_ values: UnsafePointer<Float>) -> [Float] {
            var out = [Float](repeating: 0, count: side * side * side)
            for z in 0..<side { for y in 0..<side { for x in 0..<side {
                out[(z * side + y) * side + x] = values[((z + cut) * n + y + cut) * n + x + cut]
            } } }
            return out
        }
        let shape = TensorShape(depth: n, height: n, width: n, channels: 1)
        let (block, sum) = (Tensor(shape), Tensor(shape))
        let ensemble = MaskEnsemble(network: network, mask: mask!, settings: s)
        var (inputs, targets): ([[Float]], [[Float]]) = ([], [])
        for (index, values) in blocks.patches.prefix(count).enumerated() {
            for i in 0..<block.count { block.data[i] = (values[i] - mean) / std }
            let key = RandomStream(seed: s.seed, stream: 0xD15E).child(UInt64(index))
            ensemble.predict(block, origin: blocks.origins[index], key: key, into: sum)
            inputs.append(centre(block.data))
            targets.append(centre(sum.data))
        }
        network.releaseActivations()
        return Distillation(inputs: inputs, targets: targets, side: side, margin: min(Distillation.margin, (side - m) / 2))
    }

    // MARK: Prediction

    public func process(_ input: InputRegion, into output: OutputRegion) throws {
        try process(input, second: nil, into: output)
    }

    public func process(_ input: InputRegion, second: InputRegion, into output: OutputRegion) throws {
        try process(input, second: Optional(second), into: output)
    }

    private func process(_ input: InputRegion, second: InputRegion?, into output: OutputRegion) throws {
        if predictor == nil {
            let ensemble = settings.halves || student != nil ? nil : MaskEnsemble(network: network, mask: mask!, settings: settings)
            predictor = S2SPredictor(
                settings: settings, network: network, student: student, ensemble: ensemble, moments: moments!, tileXY: tileXY, volume: volume)
        }
        predictor!.process(input, second: second, into: output)
    }
}

func formatMinutes(_ minutes: Double) -> String {
    minutes < 1 ? "\(Int((minutes * 60).rounded())) s" : "\(Int(minutes)) min \(Int((minutes * 60).truncatingRemainder(dividingBy: 60))) s"
}

