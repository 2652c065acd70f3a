import FilterKit

/// Bernoulli masks for Self2Self: 1 = visible, 0 = dropped (the loss counts the dropped voxels).
public enum BernoulliMask {
    /// Fills `mask` with 1 where `stream`'s draw is at least `dropRate`, 0 elsewhere.
    public static func fill(_ mask: Tensor, dropRate: Float, stream: RandomStream) {
        let m = mask.data
        Parallel.forEachChunk(mask.count, minimumChunk: 1 << 15) { r in
            stream.forEachUniform16(r) { i, u in m[i] = u < dropRate ? 0 : 1 }
        }
    }
}

extension UNet {
    /// One optimisation step on `input` with `mask`: forward, MSE against `target` (Self2Self:
    /// the input itself, the default; Noise2Noise: the other half) over the voxels `lossWeight`
    /// selects (default: the dropped ones, 1 − mask), backward, Adam. `gradient` is scratch of the
    /// input's shape. Returns the loss.
    @discardableResult
    public func trainStep(
        _ input: Tensor, target: Tensor? = nil, mask: Tensor, lossWeight: Tensor? = nil, gradient: Tensor, optimizer: inout Adam, stream: RandomStream
    ) -> Float {
        zeroGradients()
        let output = forward(input, mask: mask, stream: stream)
        let target = target ?? input
        let loss = lossWeight.map { Layers.weightedMSE(output: output, target: target, weight: $0, gradient: gradient) }
            ?? Layers.maskedMSE(output: output, target: target, mask: mask, gradient: gradient)
        backward(gradient)
        optimizer.update(parameters)
        parametersChanged()
        return loss
    }
}
