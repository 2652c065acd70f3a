import Foundation
import Testing
@testable import FilterKit
@testable import S2SFilter

@Suite("convolution backends: oneDNN and im2col + OpenBLAS agree")
struct BackendTests {
    /// Largest |a − b| over the largest |b|.
    static func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
        let scale = b.map(abs).max() ?? 0
        return zip(a, b).map { abs($0 - $1) }.max()! / max(scale, 1e-30)
    }

    @Test("forward, weight, bias and accumulated input gradients within 1e-5 relative (the net's channel counts)",
          arguments: [(1, 24, 1), (24, 24, 1), (72, 48, 2), (97, 64, 1), (16, 8, 2), (48, 96, 1)])
    func agree(_ cin: Int, _ cout: Int, _ batch: Int) throws {
        try #require(OneDNN.engine != nil, "oneDNN did not start")
        let workspace = ConvolutionWorkspace(workers: Parallel.threads)
        let layers = [true, false].map { oneDNN -> Convolution3D in
            let conv = Convolution3D(name: "c", inputChannels: cin, outputChannels: cout, workspace: workspace)
            conv.usesOneDNN = oneDNN
            conv.weight.value.update(from: randomValues(conv.weight.count, seed: 11), count: conv.weight.count)
            conv.bias!.value.update(from: randomValues(cout, seed: 12), count: cout)
            conv.loadKernel()
            return conv
        }
        let shape = TensorShape(batch: batch, depth: 7, height: 10, width: 9, channels: cin)
        #expect(layers[0].plan(for: shape) != nil, "oneDNN handles \(cin)→\(cout)")
        let x = tensor(shape, seed: 13), dy = tensor(shape.with(channels: cout), seed: 14)
        var results: [[[Float]]] = []
        for conv in layers {
            let y = Tensor(dy.shape), dx = tensor(shape, seed: 15)  // the input gradient is added to this
            conv.forward(x, into: y)
            conv.weight.zeroGradient()
            conv.bias!.zeroGradient()
            conv.backward(input: x, outputGradient: dy, inputGradient: dx, accumulate: true)
            results.append([y.values, conv.weight.gradients, conv.bias!.gradients, dx.values])
        }
        for (i, name) in ["output", "weight gradient", "bias gradient", "input gradient"].enumerated() {
            let d = BackendTests.relativeDifference(results[0][i], results[1][i])
            #expect(d < 1e-5, "\(name): oneDNN and OpenBLAS differ by \(d) (relative)")
        }
    }
}
