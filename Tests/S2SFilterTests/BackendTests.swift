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

@Suite("dropout draws")
struct DropoutDrawTests {
    @Test("dropout (AVX-512 kernel where the CPU has it) drops exactly the elements of the documented draws",
          arguments: [7, 32, 100_003, 1 << 17])
    func sameDraws(_ count: Int) {
        let shape = TensorShape(depth: 1, height: 1, width: count, channels: 1)
        let x = tensor(shape, seed: 31), y = Tensor(shape)
        let stream = RandomStream(seed: 32, stream: 4)
        let rate: Float = 0.3
        Layers.dropout(x, into: y, rate: rate, stream: stream)
        let threshold = UInt64((rate * 65_536).rounded(.up)), scale = 1 / (1 - rate)
        var mismatches = 0, dropped = 0
        for i in 0..<count {
            let word = RandomStream.mix(stream.key &+ UInt64(i >> 2) &* 0x9E37_79B9_7F4A_7C15)
            let drop = (word >> UInt64(16 * (i & 3))) & 0xFFFF < threshold
            if drop { dropped += 1 }
            if y.data[i] != (drop ? 0 : x.data[i] * scale) { mismatches += 1 }
        }
        #expect(mismatches == 0)
        if count > 1000 { #expect(abs(Double(dropped) / Double(count) - 0.3) < 0.01) }
    }
}
