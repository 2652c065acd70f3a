/// An exponential moving average of a network's parameters (Polyak averaging), for prediction.
///
/// Self-supervised losses on noisy volumes give very noisy gradients (on a real tomogram the
/// signal is about 1 % of the variance): the weights after the last step carry that noise, and so
/// does their output. The average over the last few hundred steps keeps what the steps agree on.
/// The decay ramps up as (1 + t) / (10 + t) so early weights do not linger.
public final class ParameterAverage {
    public let decay: Float
    private var values: [[Float]]
    private var updates = 0

    public init(_ parameters: [Parameter], decay: Float) {
        self.decay = decay
        values = parameters.map { Array(UnsafeBufferPointer(start: $0.value, count: $0.count)) }
    }

    /// Moves the average towards the parameters' current values.
    public func update(_ parameters: [Parameter]) {
        updates += 1
        let d = min(decay, Float(1 + updates) / Float(10 + updates))
        for (k, p) in parameters.enumerated() {
            let w = UnsafePointer(p.value)
            values[k].withUnsafeMutableBufferPointer { a in
                for i in 0..<p.count { a[i] = d * a[i] + (1 - d) * w[i] }
            }
        }
    }

    /// Writes the average into the parameters (call ``UNet/parametersChanged()`` after).
    public func load(into parameters: [Parameter]) {
        for (k, p) in parameters.enumerated() {
            values[k].withUnsafeBufferPointer { p.value.update(from: $0.baseAddress!, count: p.count) }
        }
    }
}
