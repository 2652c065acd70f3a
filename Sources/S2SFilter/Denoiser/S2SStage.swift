import CMalloc
import FilterKit

/// Self2Self denoising as a streaming stage (Quan et al. 2020, in 3-D for tomograms).
///
/// - **Prepass** (the input is read once before the output): global mean and standard deviation,
///   and training patches at positions chosen up front from the seed, filled as sections pass.
/// - **Training** on those patches with random flips and XY rotations, hidden voxels from
///   ``MaskKind``, the loss on hidden voxels only (or a saved model, `--model`).
/// - **Prediction** tile by tile on a global grid of `tile`-sided cubes, each seen with `halo`
///   voxels of context, as the mean of `samples` mask and dropout draws keyed to the tile's
///   coordinates, so the output does not depend on slab size, thread count or a pipe.
public final class S2SStage: PrepassStage, StatisticsConsumer {
    public let name = "s2s"
    public var boundary: BoundaryMode { .reflect }
    public private(set) var settings: S2SSettings
    public private(set) var network: UNet
    private var statistics = RunningStatistics()
    /// The input's mean and standard deviation that standardise it for the network: from the
    /// prepass, or from `--stats`.
    private var moments: (mean: Double, standardDeviation: Double)?
    /// Statistics given with `--stats`, and the file's path for messages.
    public let statisticsFile: (statistics: VolumeStatistics, path: String)?
    private var patches: [[Float]] = []
    private var patchOrigins: [SIMD3<Int>] = []
    private var sectionsSeen = 0
    private var volume = Size3(x: 0, y: 0, z: 0)
    private var trained = false
    /// The last predicted row of tiles: its index and `tile` sections of the output.
    private var cachedRowIndex: Int?
    /// Buffers of the prediction, allocated at the first row and reused for every row (so a long
    /// run does not fragment the heap): the row of tiles, and one block's input, mask and sum.
    private var rowValues: [Float] = []
    private var blockBuffers: (block: Tensor, mask: Tensor, sum: Tensor)?
    /// Prediction progress: tiles done, when prediction started, when progress was last shown.
    private var prediction = (tilesDone: 0, start: 0.0, lastReport: 0.0)
    /// Seconds between progress lines while predicting.
    static let progressInterval = 30.0
    /// The final training loss, for the model's metadata.
    public private(set) var finalLoss: Float?

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
            network = net
            self.settings.network = net.configuration
            if let mask = metadata["s2s.mask"] { Log.info("model \(path): trained with \(mask) masks, \(metadata["s2s.steps"] ?? "?") steps") }
            trained = true
        } else {
            network = UNet(settings.network, seed: settings.seed)
        }
        let m = network.sizeMultiple
        guard settings.predictionBlock % m == 0 else {
            throw FilterError.invalidParameter(name: "s2s tile/halo", value: "\(settings.tile)/\(settings.halo)", expected: "tile + 2·halo a multiple of \(m) for this network")
        }
    }

    public func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        volume = input.size
        if let (given, path) = statisticsFile {
            try given.check(describes: input.size, stage: name, path: path)
            moments = (given.mean, given.standardDeviation)
        }
        var info = input
        info.elementType = .float32
        let m = network.sizeMultiple
        let smallest = min(input.size.x, input.size.y, input.size.z)
        if !trained {
            let side = min(settings.patch, smallest / m * m)
            guard side >= m else {
                throw FilterError.invalidParameter(name: "s2s input", value: "\(input.size)", expected: "at least \(m) voxels along every axis for training patches")
            }
            if side != settings.patch { Log.info("training patches of \(side)³ (the volume is \(input.size))") }
            settings.patch = side
        }
        return info
    }

    public var prepassCount: Int { trained && statisticsFile != nil ? 0 : 1 }

    /// The network's activations and a row of tiles need more than the streaming stages: 512 MiB
    /// holds sections up to about 900×900 with the default tiles.
    public var suggestedMemoryBudget: Int? { 512 << 20 }

    public func inputBox(forOutput output: Box) -> Box {
        let t = settings.tile, h = settings.halo
        let z0 = output.origin.z / t * t, z1 = (output.origin.z + output.size.z + t - 1) / t * t
        let x1 = (output.origin.x + output.size.x + t - 1) / t * t, y1 = (output.origin.y + output.size.y + t - 1) / t * t
        let x0 = output.origin.x / t * t, y0 = output.origin.y / t * t
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
        let s = settings, p = s.patch, b = s.predictionBlock
        let row = s.tile * output.size.x * output.size.y * 4
        let training = trained ? 0 : network.activationBytes(TensorShape(batch: s.batch, depth: p, height: p, width: p, channels: 1), training: true)
            + network.workspaceBytes(training: true) + s.patchCount * p * p * p * 4
        let predicting = network.activationBytes(TensorShape(depth: b, height: b, width: b, channels: 1), training: false)
            + network.workspaceBytes(training: false) + 3 * b * b * b * 4
        return max(training, row + predicting)
    }

    // MARK: Prepass: statistics and training patches

    public func prepass(_ pass: Int, sections: UnsafePointer<Float>, count: Int, info: VolumeInfo) throws {
        if sectionsSeen == 0 { choosePatches(info.size) }
        let n = info.size.sectionVoxels
        if statisticsFile == nil { statistics.add(sections, count: count * n) }
        let p = settings.patch
        for k in 0..<count {
            let z = sectionsSeen + k
            let plane = sections + k * n
            for (index, origin) in patchOrigins.enumerated() where z >= origin.z && z < origin.z + p {
                let dz = z - origin.z
                patches[index].withUnsafeMutableBufferPointer { patch in
                    for y in 0..<p {
                        (patch.baseAddress! + (dz * p + y) * p).update(from: plane + (origin.y + y) * info.size.x + origin.x, count: p)
                    }
                }
            }
        }
        sectionsSeen += count
    }

    private func choosePatches(_ size: Size3) {
        let p = settings.patch
        guard !trained else { return }
        let r = RandomStream(seed: settings.seed, stream: 0x9A7C)
        func coordinate(_ i: Int, _ axis: Int, _ n: Int) -> Int {
            Int(r.bits(UInt64(3 * i + axis)) % UInt64(n - p + 1))
        }
        patchOrigins = (0..<settings.patchCount).map { i -> SIMD3<Int> in
            SIMD3(coordinate(i, 0, size.x), coordinate(i, 1, size.y), coordinate(i, 2, size.z))
        }
        patches = Array(repeating: [Float](repeating: 0, count: p * p * p), count: settings.patchCount)
    }

    public func finishPrepass(_ pass: Int) throws {
        sectionsSeen = 0
        if statisticsFile == nil {
            try S2SStage.checkMoments(mean: statistics.mean, standardDeviation: statistics.standardDeviation)
            moments = (statistics.mean, statistics.standardDeviation)
        }
        if !trained { try train() }
        patches = []
    }

    private static func checkMoments(mean: Double, standardDeviation: Double) throws {
        guard standardDeviation > 0, mean.isFinite, standardDeviation.isFinite else {
            throw FilterError.unsupported(source: "s2s", what: "the volume is constant or holds NaN/infinite values: nothing to denoise", hint: "")
        }
    }

    // MARK: Training

    private func train() throws {
        let s = settings, p = s.patch
        let (mean, std) = (Float(moments!.mean), Float(moments!.standardDeviation))
        for i in patches.indices { patches[i] = patches[i].map { ($0 - mean) / std } }
        let shape = TensorShape(batch: s.batch, depth: p, height: p, width: p, channels: 1)
        let input = Tensor(shape), mask = Tensor(shape), weight = Tensor(shape), gradient = Tensor(shape)
        var adam = Adam(learningRate: s.learningRate)
        let start = ProgressReporter.now(), deadline = start + s.trainMinutes * 60
        let random = RandomStream(seed: s.seed, stream: 0x7A41)
        var recent: [Float] = []
        var step = 0
        Log.info("training the \(s.presetName) net (\(network.parameterCount) parameters) on \(patches.count) patches of \(p)³, batch \(s.batch), \(s.mask) masks at \(s.maskRate), up to \(s.steps) steps or \(formatMinutes(s.trainMinutes))")
        while step < s.steps && ProgressReporter.now() < deadline {
            let draw = random.child(UInt64(step))
            for b in 0..<s.batch {
                let which = Int(draw.bits(UInt64(b)) % UInt64(patches.count))
                augment(patches[which], side: p, code: draw.bits(UInt64(100 + b)), into: input.data + b * p * p * p)
            }
            s.mask.fill(mask, lossWeight: weight, rate: s.maskRate, stream: draw.child(1))
            let loss = network.trainStep(input, mask: mask, lossWeight: weight, gradient: gradient, optimizer: &adam, stream: draw.child(2))
            guard loss.isFinite else {
                throw FilterError.unsupported(source: name, what: "training diverged at step \(step + 1) (loss \(loss))", hint: "lower --lr")
            }
            recent.append(loss)
            step += 1
            if step % 25 == 0 || step == s.steps {
                let elapsed = ProgressReporter.now() - start
                let mean = recent.reduce(0, +) / Float(recent.count)
                Log.info("step \(step)/\(s.steps): loss \(String(format3: mean)), \(String(format3: Float(elapsed / Double(step)))) s/step")
                finalLoss = mean
                recent = []
            }
        }
        if !recent.isEmpty { finalLoss = recent.reduce(0, +) / Float(recent.count) }
        Log.info("trained \(step) steps in \(formatMinutes((ProgressReporter.now() - start) / 60)), final loss \(String(format3: finalLoss ?? .nan))")
        trained = true
        network.releaseActivations()
        // Return the freed training buffers to the system rather than keep them in malloc's heap.
        _ = sf_malloc_trim()
        if let path = s.saveModelPath {
            try network.save(to: path, metadata: [
                "s2s.mask": "\(s.mask)", "s2s.mask_rate": "\(s.maskRate)", "s2s.steps": "\(step)", "s2s.patch": "\(p)",
                "s2s.batch": "\(s.batch)", "s2s.lr": "\(s.learningRate)", "s2s.seed": "\(s.seed)",
                "s2s.final_loss": "\(finalLoss ?? .nan)", "s2s.mean": "\(moments!.mean)", "s2s.std": "\(moments!.standardDeviation)",
            ])
            Log.info("model saved to \(path)")
        }
    }

    /// Copies a cubic patch with the flips and XY rotation `code` selects.
    private func augment(_ patch: [Float], side p: Int, code: UInt64, into out: UnsafeMutablePointer<Float>) {
        let (fz, fy, fx, rot) = (code & 1 == 1, code & 2 == 2, code & 4 == 4, Int((code >> 3) & 3))
        patch.withUnsafeBufferPointer { src in
            for z in 0..<p {
                for y in 0..<p {
                    for x in 0..<p {
                        var (sy, sx) = (y, x)
                        for _ in 0..<rot { (sy, sx) = (sx, p - 1 - sy) }
                        let sz = fz ? p - 1 - z : z
                        sy = fy ? p - 1 - sy : sy
                        sx = fx ? p - 1 - sx : sx
                        out[(z * p + y) * p + x] = src[(sz * p + sy) * p + sx]
                    }
                }
            }
        }
    }

    // MARK: Prediction

    public func process(_ input: Tile, into output: MutableTile) throws {
        let t = settings.tile
        let (nx, ny) = (output.box.size.x, output.box.size.y)
        for z in output.box.range(2) {
            let row = z / t
            if cachedRowIndex != row {
                predictRow(row, input: input)
                cachedRowIndex = row
            }
            let plane = (z - row * t) * nx * ny
            rowValues.withUnsafeBufferPointer { values in
                (output.data + (z - output.box.origin.z) * nx * ny).update(from: values.baseAddress! + plane, count: nx * ny)
            }
        }
    }

    /// Predicts sections `row·tile ..< (row + 1)·tile` (full XY) from the input tile's planes.
    private func predictRow(_ row: Int, input: Tile) {
        let s = settings, t = s.tile, h = s.halo, b = s.predictionBlock
        let (nx, ny) = (volume.x, volume.y)
        let width = input.box.size.x
        if rowValues.count != t * nx * ny { rowValues = [Float](repeating: 0, count: t * nx * ny) }
        if blockBuffers == nil {
            let shape = TensorShape(depth: b, height: b, width: b, channels: 1)
            blockBuffers = (Tensor(shape), Tensor(shape), Tensor(shape))
        }
        let (block, mask, sum) = blockBuffers!
        let (mean, std) = (Float(moments!.mean), Float(moments!.standardDeviation))
        let firstPlane = row * t - h - input.box.origin.z
        for ty in 0..<((ny + t - 1) / t) {
            for tx in 0..<((nx + t - 1) / t) {
                // The block: tile (ty, tx) of this row with its halo, standardised.
                for z in 0..<b {
                    let plane = input.plane(firstPlane + z)
                    for y in 0..<b {
                        let from = plane + (ty * t + y) * width + tx * t
                        let to = block.data + (z * b + y) * b
                        for x in 0..<b { to[x] = (from[x] - mean) / std }
                    }
                }
                sum.zero()
                let key = RandomStream(seed: s.seed, stream: 0x5A3B).child(UInt64(row) << 40 | UInt64(ty) << 20 | UInt64(tx))
                for sample in 0..<s.samples {
                    s.mask.fill(mask, lossWeight: nil, rate: s.maskRate, stream: key.child(UInt64(2 * sample)))
                    let out = network.predict(block, mask: mask, stream: key.child(UInt64(2 * sample + 1)))
                    for i in 0..<sum.count { sum.data[i] += out.data[i] }
                }
                let scale = std / Float(s.samples)
                for z in 0..<t {
                    for y in 0..<min(t, ny - ty * t) {
                        let from = sum.data + ((z + h) * b + y + h) * b + h
                        let to = (z * ny + ty * t + y) * nx + tx * t
                        for x in 0..<min(t, nx - tx * t) { rowValues[to + x] = from[x] * scale + mean }
                    }
                }
                reportPrediction(row: row)
            }
        }
    }
}

extension S2SStage {
    /// A line on stderr every ``progressInterval`` seconds while predicting: tiles done of all,
    /// and the time left at the rate so far (a row of tiles can take minutes on large sections,
    /// longer than the pipeline's per-section progress can show).
    fileprivate func reportPrediction(row: Int) {
        let now = ProgressReporter.now()
        if prediction.tilesDone == 0 { (prediction.start, prediction.lastReport) = (now, now) }
        prediction.tilesDone += 1
        let t = settings.tile
        let perRow = ((volume.x + t - 1) / t) * ((volume.y + t - 1) / t), rows = (volume.z + t - 1) / t
        let total = perRow * rows, done = prediction.tilesDone
        guard now - prediction.lastReport >= S2SStage.progressInterval, done < total else { return }
        prediction.lastReport = now
        let left = (now - prediction.start) / Double(done) * Double(total - done)
        Log.info("predicting: \(done)/\(total) tiles (row \(row + 1)/\(rows)), \(formatMinutes(left / 60)) left")
    }
}

func formatMinutes(_ minutes: Double) -> String {
    minutes < 1 ? "\(Int((minutes * 60).rounded())) s" : "\(Int(minutes)) min \(Int((minutes * 60).truncatingRemainder(dividingBy: 60))) s"
}

extension String {
    /// Three significant decimals, without Foundation.
    init(format3 v: Float) {
        guard v.isFinite else { self = "\(v)"; return }
        let scaled = (Double(v) * 1000).rounded() / 1000
        self = "\(scaled)"
    }
}

