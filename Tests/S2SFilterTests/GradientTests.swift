import Foundation
import Testing
@testable import FilterKit
@testable import S2SFilter

/// Deterministic values in [−1, 1).
func randomValues(_ count: Int, seed: UInt64) -> [Float] {
    let stream = RandomStream(seed: seed, stream: 1)
    return (0..<count).map { 2 * stream.uniform(UInt64($0)) - 1 }
}

func tensor(_ shape: TensorShape, seed: UInt64) -> Tensor {
    let t = Tensor(shape)
    t.set(randomValues(shape.count, seed: seed))
    return t
}

/// Σ a·b in Double.
func dot(_ a: UnsafePointer<Float>, _ b: [Float]) -> Double {
    var s = 0.0
    for i in 0..<b.count { s += Double(a[i]) * Double(b[i]) }
    return s
}

/// Checks analytic derivatives against central differences of a scalar loss computed in Double.
/// `indices` are the entries checked; tolerance is relative to the largest analytic value.
func expectGradientsMatch(
    _ name: String, values: UnsafeMutablePointer<Float>, analytic: [Float], indices: [Int], step: Float,
    tolerance: Double, loss: () -> Double, after: () -> Void = {}
) {
    let scale = max(1e-6, analytic.map { abs(Double($0)) }.max() ?? 0)
    var worst = 0.0
    for i in indices {
        let saved = values[i]
        values[i] = saved + step; after()
        let plus = loss()
        values[i] = saved - step; after()
        let minus = loss()
        values[i] = saved; after()
        let numeric = (plus - minus) / (2 * Double(step))
        worst = max(worst, abs(numeric - Double(analytic[i])) / scale)
    }
    #expect(worst <= tolerance, "\(name): worst |numeric − analytic| = \(worst) of the largest gradient")
}

@Suite("NN layers: backward equals central differences")
struct GradientTests {
    @Test("3×3×3 convolution: weights, bias and input, odd sizes, batch 2, on oneDNN and on OpenBLAS",
          arguments: [(1, 3), (5, 4), (3, 1), (17, 16), (1, 8), (3, 9)], [true, false])
    func convolution(_ channels: (Int, Int), oneDNN: Bool) {
        let (cin, cout) = channels
        let workspace = ConvolutionWorkspace(workers: Parallel.threads)
        let conv = Convolution3D(name: "c", inputChannels: cin, outputChannels: cout, workspace: workspace)
        conv.usesOneDNN = oneDNN
        conv.weight.value.update(from: randomValues(conv.weight.count, seed: 1), count: conv.weight.count)
        conv.bias!.value.update(from: randomValues(cout, seed: 2), count: cout)
        conv.loadKernel()
        let shape = TensorShape(batch: 2, depth: 3, height: 5, width: 4, channels: cin)
        let expectOneDNN = oneDNN && OneDNN.engine != nil && cout >= Convolution3D.oneDNNMinimumOutputChannels
        #expect((conv.plan(for: shape) != nil) == expectOneDNN, "the backend asked for runs")
        let x = tensor(shape, seed: 3), y = Tensor(shape.with(channels: cout)), dx = Tensor(shape)
        let r = randomValues(y.count, seed: 4)  // loss = Σ y·r, so dL/dy = r
        let dy = Tensor(y.shape)
        dy.set(r)
        conv.weight.zeroGradient()
        conv.bias!.zeroGradient()
        conv.backward(input: x, outputGradient: dy, inputGradient: dx)
        func loss() -> Double { conv.forward(x, into: y); return dot(y.data, r) }
        expectGradientsMatch("weight", values: conv.weight.value, analytic: conv.weight.gradients, indices: Array(0..<conv.weight.count), step: 0.01, tolerance: 1e-4, loss: loss, after: conv.loadKernel)
        expectGradientsMatch("bias", values: conv.bias!.value, analytic: conv.bias!.gradients, indices: Array(0..<cout), step: 0.01, tolerance: 1e-4, loss: loss)
        expectGradientsMatch("input", values: x.data, analytic: dx.values, indices: Array(0..<x.count), step: 0.01, tolerance: 1e-4, loss: loss)
    }

    @Test("partial convolution: weights and bias through the mask renormalisation")
    func partialConvolution() {
        let workspace = ConvolutionWorkspace(workers: Parallel.threads)
        let layer = PartialConvolution3D(name: "p", inputChannels: 1, outputChannels: 3, workspace: workspace)
        layer.convolution.weight.value.update(from: randomValues(81, seed: 5), count: 81)
        layer.bias.value.update(from: randomValues(3, seed: 6), count: 3)
        layer.convolution.loadKernel()
        let shape = TensorShape(depth: 5, height: 3, width: 6, channels: 1)
        let x = tensor(shape, seed: 7)
        let mask = Tensor(shape)
        let keep = RandomStream(seed: 8, stream: 0)
        mask.set((0..<shape.count).map { keep.uniform(UInt64($0)) < 0.5 ? 1 : 0 })
        let masked = Tensor(shape), ratio = Tensor(shape)
        for i in 0..<shape.count { masked.data[i] = x.data[i] * mask.data[i] }
        PartialConvolution3D.ratio(mask: mask, into: ratio)
        // The ratio is 27/Σm where some voxel is visible, 0 where none is.
        #expect(ratio.values.contains { $0 > 2 })
        let y = Tensor(shape.with(channels: 3)), dy = Tensor(y.shape)
        let r = randomValues(y.count, seed: 9)
        dy.set(r)
        layer.convolution.weight.zeroGradient()
        layer.bias.zeroGradient()
        layer.backward(masked: masked, ratio: ratio, outputGradient: dy)
        func loss() -> Double { layer.forward(masked: masked, ratio: ratio, into: y); return dot(y.data, r) }
        expectGradientsMatch("weight", values: layer.convolution.weight.value, analytic: layer.convolution.weight.gradients, indices: Array(0..<81), step: 0.01, tolerance: 1e-4, loss: loss, after: layer.convolution.loadKernel)
        expectGradientsMatch("bias", values: layer.bias.value, analytic: layer.bias.gradients, indices: [0, 1, 2], step: 0.01, tolerance: 1e-4, loss: loss)
    }

    @Test("LeakyReLU, max-pool, upsample, concat and dropout")
    func parameterFreeLayers() {
        let shape = TensorShape(batch: 2, depth: 4, height: 2, width: 6, channels: 3)
        // Distinct values at least 1/288 apart and away from 0: central differences of step 1e-3
        // never cross LeakyReLU's kink or change a max-pool winner.
        let x = Tensor(shape)
        x.set((0..<shape.count).map { i in
            let v = Float((i * 7919) % shape.count) / Float(shape.count) - 0.5
            return v < 0 ? v - 0.01 : v + 0.01
        })
        // LeakyReLU: y = f(x); loss Σ y·r.
        let r = randomValues(shape.count, seed: 11)
        let y = Tensor(shape), g = Tensor(shape)
        func relu() -> Double { y.data.update(from: x.data, count: x.count); Layers.leakyReLU(y); return dot(y.data, r) }
        _ = relu()
        g.set(r)
        Layers.leakyReLUBackward(output: y, gradient: g)
        expectGradientsMatch("leakyReLU", values: x.data, analytic: g.values, indices: Array(0..<x.count), step: 1e-3, tolerance: 1e-3, loss: relu)
        // Max-pool.
        let pooled = Tensor(shape.halved), argmax = UnsafeMutablePointer<UInt8>.allocate(capacity: pooled.count)
        defer { argmax.deallocate() }
        let rp = randomValues(pooled.count, seed: 12)
        func pool() -> Double { Layers.maxPool(x, into: pooled, argmax: argmax); return dot(pooled.data, rp) }
        _ = pool()
        let gp = Tensor(pooled.shape), gx = Tensor(shape)
        gp.set(rp)
        Layers.maxPoolBackward(gradient: gp, argmax: argmax, into: gx)
        expectGradientsMatch("maxPool", values: x.data, analytic: gx.values, indices: Array(0..<x.count), step: 1e-3, tolerance: 1e-3, loss: pool)
        // Upsample.
        let up = Tensor(shape.doubled), ru = randomValues(up.count, seed: 13)
        func upsample() -> Double { Layers.upsample(x, into: up); return dot(up.data, ru) }
        let gu = Tensor(up.shape)
        gu.set(ru)
        Layers.upsampleBackward(gradient: gu, into: gx)
        expectGradientsMatch("upsample", values: x.data, analytic: gx.values, indices: Array(0..<x.count), step: 1e-2, tolerance: 1e-4, loss: upsample)
        // Concat (second part) and dropout.
        let other = tensor(shape.with(channels: 2), seed: 14)
        let joined = Tensor(shape.with(channels: 5)), rj = randomValues(joined.count, seed: 15)
        func join() -> Double { Layers.concatenate(other, x, into: joined); return dot(joined.data, rj) }
        let gj = Tensor(joined.shape), ga = Tensor(other.shape)
        gj.set(rj)
        Layers.concatenateBackward(gradient: gj, into: ga, gx)
        expectGradientsMatch("concat", values: x.data, analytic: gx.values, indices: Array(0..<x.count), step: 1e-2, tolerance: 1e-4, loss: join)
        let stream = RandomStream(seed: 16, stream: 3)
        let dropped = Tensor(shape)
        func drop() -> Double { Layers.dropout(x, into: dropped, rate: 0.3, stream: stream); return dot(dropped.data, r) }
        _ = drop()
        #expect(dropped.values.filter { $0 == 0 }.count > shape.count / 6)
        g.set(r)
        Layers.dropoutBackward(gradient: g, into: gx, rate: 0.3, stream: stream)
        expectGradientsMatch("dropout", values: x.data, analytic: gx.values, indices: Array(0..<x.count), step: 1e-2, tolerance: 1e-4, loss: drop)
    }

    @Test("masked MSE counts dropped voxels only, averaged over the batch")
    func maskedLoss() {
        let shape = TensorShape(batch: 2, depth: 2, height: 3, width: 3, channels: 1)
        let out = tensor(shape, seed: 17), target = tensor(shape, seed: 18), mask = Tensor(shape), g = Tensor(shape)
        mask.set((0..<shape.count).map { $0 % 3 == 0 ? 0 : 1 })
        let value = Layers.maskedMSE(output: out, target: target, mask: mask, gradient: g)
        var sum = 0.0, n = 0.0
        for i in 0..<shape.count where i % 3 == 0 {
            sum += pow(Double(out.data[i] - target.data[i]), 2)
            n += 1
        }
        #expect(abs(Double(value) - sum / n) < 1e-6)
        expectGradientsMatch("maskedMSE", values: out.data, analytic: g.values, indices: Array(0..<shape.count), step: 1e-3, tolerance: 1e-3,
                             loss: { Double(Layers.maskedMSE(output: out, target: target, mask: mask, gradient: Tensor(shape))) })
    }

    @Test("the whole U-Net: parameter gradients equal central differences (small net, odd channel counts)")
    func wholeNetwork() {
        let config = UNetConfiguration(pools: 2, encoderChannels: 3, decoderChannels: 5, top: [4, 3], dropout: 0.3)
        let net = UNet(config, seed: 3)
        let shape = TensorShape(depth: 4, height: 8, width: 4, channels: 1)
        let x = tensor(shape, seed: 20), mask = Tensor(shape), g = Tensor(shape)
        let keep = RandomStream(seed: 21, stream: 0)
        mask.set((0..<shape.count).map { keep.uniform(UInt64($0)) < 0.7 ? 1 : 0 })
        let stream = RandomStream(seed: 22, stream: 0)
        func loss() -> Double { Double(Layers.maskedMSE(output: net.forward(x, mask: mask, stream: stream), target: x, mask: mask, gradient: g)) }
        _ = loss()
        net.zeroGradients()
        net.backward(g)
        for p in net.parameters {
            let n = p.count
            let picks = Array(Set((0..<min(n, 12)).map { ($0 * 7919) % n })).sorted()
            expectGradientsMatch(p.name, values: p.value, analytic: p.gradients, indices: picks, step: 5e-4, tolerance: 3e-2, loss: loss, after: net.parametersChanged)
        }
    }
}
