import FilterKit

/// A student network that learns the blind-pass ensemble's output and then predicts in one pass.
///
/// Self2Self predicts with an ensemble: with cell masks 8 passes per block, every voxel taken
/// from the pass in which it is blind. That ensemble is a deterministic function of the noisy
/// block, so a network of the same shape can learn it (knowledge distillation, Hinton et al.
/// 2015; a J-invariant teacher distilled into an unmasked student as in Noise2Self, Batson &
/// Royer 2019): the ensemble predicts blocks cut from the volume during the prepass, the student
/// — initialised with the teacher's weights — learns to give the same from the whole block
/// without masks, and prediction then runs it once per block instead of 8 times.
///
/// The student only ever sees the noisy input through the teacher's output: it cannot learn the
/// noise back (the targets hold none that the ensemble did not leave).
struct Distillation {
    /// Training blocks and the ensemble's prediction of each (standardised, `side`³).
    let inputs: [[Float]], targets: [[Float]]
    let side: Int
    /// Voxels at each face left out of the loss: their ensemble prediction lacked context, as
    /// the prediction's halo does.
    let margin: Int

    /// Context around the core the loss counts: the distillation blocks are the core plus this
    /// on every side (a wider halo costs memory and time per step, measured no better).
    static let margin = 4

    /// The student's block side for prediction blocks of `block` and training patches of `patch`.
    static func side(block: Int, patch: Int, multiple: Int) -> Int {
        min(block, patch + 2 * margin) / multiple * multiple
    }

    /// Blocks per step: one (a batch of two 40³ blocks holds as much as the prediction of a row
    /// of 1024² sections; one block per step, twice the steps, learns as well).
    static let batch = 1

    /// Trains `student` towards ``targets`` with Adam at the distillation's learning rate and the
    /// run's weight average, for up to `steps`
    /// steps or `minutes`; returns the steps done and the final loss (mean of the last 25).
    func train(_ student: UNet, settings s: S2SSettings, steps: Int, minutes: Double) throws -> (steps: Int, loss: Float) {
        let n = side, batch = Self.batch
        let shape = TensorShape(batch: batch, depth: n, height: n, width: n, channels: 1)
        let input = Tensor(shape), target = Tensor(shape), visible = Tensor(shape), weight = Tensor(shape), gradient = Tensor(shape)
        visible.data.update(repeating: 1, count: visible.count)
        let item = n * n * n
        for b in 0..<batch {
            for z in margin..<(n - margin) { for y in margin..<(n - margin) {
                (weight.data + b * item + (z * n + y) * n + margin).update(repeating: 1, count: n - 2 * margin)
            } }
        }
        var adam = Adam(learningRate: s.distillLearningRate)
        let average = s.averageDecay > 0 ? ParameterAverage(student.parameters, decay: s.averageDecay) : nil
        let start = ProgressReporter.now(), deadline = start + minutes * 60
        let random = RandomStream(seed: s.seed, stream: 0xD157)
        var recent: [Float] = [], loss = Float.nan
        var step = 0
        Log.info("distilling the ensemble into one network: \(inputs.count) blocks of \(n)³, up to \(steps) steps or \(formatMinutes(minutes))")
        while step < steps && ProgressReporter.now() < deadline {
            let draw = random.child(UInt64(step))
            for b in 0..<batch {
                let which = Int(draw.bits(UInt64(b)) % UInt64(inputs.count))
                // A cube's flips and quarter turns map its core onto itself: the weight stays.
                let augmentation = PatchAugmentation(code: draw.bits(UInt64(100 + b)))
                inputs[which].withUnsafeBufferPointer { augmentation.apply($0.baseAddress!, side: n, into: input.data + b * item) }
                targets[which].withUnsafeBufferPointer { augmentation.apply($0.baseAddress!, side: n, into: target.data + b * item) }
            }
            let value = student.trainStep(input, target: target, mask: visible, lossWeight: weight, gradient: gradient, optimizer: &adam, stream: draw.child(2))
            guard value.isFinite else {
                throw FilterError.unsupported(source: S2SFactory.name, what: "distillation diverged at step \(step + 1) (loss \(value))", hint: "lower --distill-lr, or --distill 0")
            }
            average?.update(student.parameters)
            recent.append(value)
            step += 1
            if step % 25 == 0 || step == steps {
                loss = recent.reduce(0, +) / Float(recent.count)
                Log.info("distillation step \(step)/\(steps): loss \(String(format3: loss)), \(String(format3: Float((ProgressReporter.now() - start) / Double(step)))) s/step")
                recent = []
            }
        }
        if !recent.isEmpty { loss = recent.reduce(0, +) / Float(recent.count) }
        if let average {
            average.load(into: student.parameters)
            student.parametersChanged()
        }
        student.releaseActivations()
        return (step, loss)
    }
}
