import CMalloc
import FilterKit

/// Training of a network on the patches cut in the prepass: with masks (Self2Self: the hidden
/// voxels drawn in the volume's frame, where the noise correlation was measured, then flipped
/// and rotated with their patch; the loss on hidden voxels) or on two halves (Noise2Noise:
/// each half's patch towards the other's at the same place, in both directions; the loss on
/// every voxel), with Adam and a moving average of the weights, for up to `steps` steps or
/// `trainMinutes`.
struct S2STrainer {
    let settings: S2SSettings
    let network: UNet
    /// The mask to train with, or nil for two halves.
    let mask: MaskKind?
    /// The stage's name, for messages.
    let stageName: String

    /// What a training did.
    struct Result {
        var steps: Int
        /// The mean loss of the last 25 steps (or fewer).
        var finalLoss: Float?
        /// The loss of every step, for `--report`.
        var lossHistory: [Float]
    }

    /// Trains ``network`` in place on `patches` (and with two halves `others`, the same
    /// positions of the second half), standardised here in place by `moments`.
    ///
    /// - Parameter estimate: called once after the first 25 steps with the seconds per step and
    ///   the steps still to come, for the whole run's estimate.
    func train(
        patches sampler: inout PatchSampler, others secondSampler: inout PatchSampler?, moments: (mean: Double, standardDeviation: Double),
        estimate: (_ secondsPerStep: Double, _ stepsLeft: Int) -> Void
    ) throws -> Result {
        let s = settings, p = s.patch
        let (mean, std) = (Float(moments.mean), Float(moments.standardDeviation))
        sampler.standardise(mean: mean, standardDeviation: std)
        secondSampler?.standardise(mean: mean, standardDeviation: std)
        let patches = sampler.patches
        let others = secondSampler?.patches
        let shape = TensorShape(batch: s.batch, depth: p, height: p, width: p, channels: 1)
        let input = Tensor(shape), visible = Tensor(shape), weight = Tensor(shape), gradient = Tensor(shape)
        let target = others == nil ? nil : Tensor(shape)
        if others != nil {
            visible.data.update(repeating: 1, count: visible.count)
            weight.data.update(repeating: 1, count: weight.count)
        }
        let drawnVisible = Tensor(shape), drawnWeight = Tensor(shape)
        let item = p * p * p
        var adam = Adam(learningRate: s.learningRate)
        let average = s.averageDecay > 0 ? ParameterAverage(network.parameters, decay: s.averageDecay) : nil
        let start = ProgressReporter.now(), deadline = start + s.trainMinutes * 60
        let random = RandomStream(seed: s.seed, stream: 0x7A41)
        var result = Result(steps: 0, finalLoss: nil, lossHistory: [])
        var recent: [Float] = []
        var step = 0
        let what = mask.map { "\($0) masks\($0.hidesFixedRate ? " at \(s.maskRate)" : "")" } ?? "two halves, each towards the other"
        Log.info("training the \(s.presetName) net (\(network.parameterCount) parameters) on \(patches.count) patches of \(p)³, batch \(s.batch), \(what), up to \(s.steps) steps or \(formatMinutes(s.trainMinutes))")
        while step < s.steps && ProgressReporter.now() < deadline {
            let draw = random.child(UInt64(step))
            mask?.fill(drawnVisible, lossWeight: drawnWeight, rate: s.maskRate, stream: draw.child(1))
            for b in 0..<s.batch {
                let which = Int(draw.bits(UInt64(b)) % UInt64(patches.count))
                let augmentation = PatchAugmentation(code: draw.bits(UInt64(100 + b)))
                if let others, let target {
                    let (from, to) = draw.bits(UInt64(200 + b)) & 1 == 0 ? (patches[which], others[which]) : (others[which], patches[which])
                    from.withUnsafeBufferPointer { augmentation.apply($0.baseAddress!, side: p, into: input.data + b * item) }
                    to.withUnsafeBufferPointer { augmentation.apply($0.baseAddress!, side: p, into: target.data + b * item) }
                    continue
                }
                patches[which].withUnsafeBufferPointer { augmentation.apply($0.baseAddress!, side: p, into: input.data + b * item) }
                augmentation.apply(drawnVisible.data + b * item, side: p, into: visible.data + b * item)
                augmentation.apply(drawnWeight.data + b * item, side: p, into: weight.data + b * item)
            }
            let loss = network.trainStep(input, target: target, mask: visible, lossWeight: weight, gradient: gradient, optimizer: &adam, stream: draw.child(2))
            guard loss.isFinite else {
                throw FilterError.unsupported(source: stageName, what: "training diverged at step \(step + 1) (loss \(loss))", hint: "lower --lr")
            }
            average?.update(network.parameters)
            recent.append(loss)
            result.lossHistory.append(loss)
            step += 1
            if step % 25 == 0 || step == s.steps {
                let elapsed = ProgressReporter.now() - start
                if step == min(25, s.steps) {
                    let perStep = elapsed / Double(step)
                    estimate(perStep, min(s.steps, Int(s.trainMinutes * 60 / perStep)) - step)
                }
                let mean = recent.reduce(0, +) / Float(recent.count)
                Log.info("step \(step)/\(s.steps): loss \(String(format3: mean)), \(String(format3: Float(elapsed / Double(step)))) s/step")
                result.finalLoss = mean
                recent = []
            }
        }
        if !recent.isEmpty { result.finalLoss = recent.reduce(0, +) / Float(recent.count) }
        result.steps = step
        Log.info("trained \(step) steps in \(formatMinutes((ProgressReporter.now() - start) / 60)), final loss \(String(format3: result.finalLoss ?? .nan))")
        if let average {
            average.load(into: network.parameters)
            network.parametersChanged()
        }
        network.releaseActivations()
        // Return the freed training buffers to the system rather than keep them in malloc's heap.
        _ = sf_malloc_trim()
        return result
    }
}
