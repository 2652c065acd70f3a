#if canImport(Glibc)
import Glibc
#endif

/// Adam (Kingma & Ba) with bias correction, as `torch.optim.Adam` (no weight decay).
public struct Adam: Sendable {
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// Steps taken.
    public private(set) var step = 0

    public init(learningRate: Float) {
        self.learningRate = learningRate
    }

    /// Updates every parameter from its gradient (and clears nothing: the caller zeroes gradients).
    public mutating func update(_ parameters: [Parameter]) {
        step += 1
        let c1 = 1 - pow(beta1, Float(step)), c2 = 1 - pow(beta2, Float(step))
        let (b1, b2, lr, eps) = (beta1, beta2, learningRate, epsilon)
        for p in parameters {
            let (w, g, m, v) = (p.value, UnsafePointer(p.gradient), p.firstMoment, p.secondMoment)
            var i = 0
            while i < p.count {
                let gi = g[i]
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                // torch: w -= lr · m̂ / (√v̂ + ε), with m̂ = m / c1 and v̂ = v / c2.
                w[i] -= lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + eps)
                i &+= 1
            }
        }
    }
}
