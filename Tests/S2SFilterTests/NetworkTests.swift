import Foundation
import Testing
@testable import FilterKit
@testable import S2SFilter

@Suite("S2S U-Net")
struct NetworkTests {
    @Test("the presets have the PyTorch reference's parameter counts")
    func parameterCounts() {
        #expect(UNet(.full).parameterCount == 2_963_425)
        #expect(UNet(.lite).parameterCount == 399_745)
        #expect(UNetConfiguration.full.parameterCount == 2_963_425 && UNetConfiguration.lite.parameterCount == 399_745)
        #expect(UNet(.lite).parameters.first?.name == "pconv0.conv.weight")
        #expect(UNet(.lite).parameters.last?.torchShape == [1])
    }

    @Test("same seed, same weights and output; the output does not depend on the thread count")
    func reproducible() {
        let shape = TensorShape(depth: 8, height: 16, width: 8, channels: 1)
        let x = tensor(shape, seed: 1), mask = Tensor(shape)
        mask.set((0..<shape.count).map { $0 % 4 == 0 ? 0 : 1 })
        let stream = RandomStream(seed: 5, stream: 0)
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        var outputs: [[Float]] = []
        for threads in [1, 2] {
            Parallel.threads = threads
            let net = UNet(.lite, seed: 9)
            outputs.append(net.forward(x, mask: mask, stream: stream).values)
        }
        #expect(outputs[0] == outputs[1])
        #expect(outputs[0] != UNet(.lite, seed: 10).forward(x, mask: mask, stream: stream).values)
    }

    @Test("training is bit-identical for 1 and 2 threads (batch 2: every layer's weight gradient)")
    func trainingReproducible() {
        let shape = TensorShape(batch: 2, depth: 16, height: 16, width: 8, channels: 1)
        let x = tensor(shape, seed: 21), mask = Tensor(shape), weight = Tensor(shape), gradient = Tensor(shape)
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        var results: [[Float]] = []
        for threads in [2, 1, 2] {
            Parallel.threads = threads
            let net = UNet(.lite, seed: 4)
            var adam = Adam(learningRate: 1e-3)
            var losses: [Float] = []
            for step in 0..<3 {
                let draw = RandomStream(seed: 6, stream: UInt64(step))
                MaskKind.point.fill(mask, lossWeight: weight, rate: 0.3, stream: draw.child(1))
                losses.append(net.trainStep(x, mask: mask, lossWeight: weight, gradient: gradient, optimizer: &adam, stream: draw.child(2)))
            }
            results.append(losses + net.parameters.flatMap(\.values))
        }
        #expect(results[0] == results[1] && results[1] == results[2])
    }

    @Test("the inference pass gives the training forward's output bit for bit, in less memory",
          arguments: [UNetConfiguration.lite, UNetConfiguration(pools: 1, encoderChannels: 3, decoderChannels: 5, top: [4, 2]),
                      UNetConfiguration(pools: 2, encoderChannels: 4, decoderChannels: 9, top: [11, 3])])
    func inferenceMatchesForward(configuration: UNetConfiguration) {
        let m = 1 << configuration.pools
        let shape = TensorShape(depth: 2 * m, height: 3 * m, width: m, channels: 1)
        let x = tensor(shape, seed: 3), mask = Tensor(shape)
        mask.set((0..<shape.count).map { $0 % 3 == 0 ? 0 : 1 })
        let net = UNet(configuration, seed: 4)
        for sample in 0..<2 {
            let stream = RandomStream(seed: 6, stream: UInt64(sample))
            let trained = net.forward(x, mask: mask, stream: stream).values
            let predicted = net.predict(x, mask: mask, stream: stream).values
            #expect(predicted == trained)
            #expect(net.predict(x, mask: mask, stream: RandomStream(seed: 7, stream: 0)).values != trained)
        }
        let block = TensorShape(depth: 48, height: 48, width: 48, channels: 1)
        #expect(net.activationBytes(block, training: false) * 2 < net.activationBytes(block, training: true) / 2)
    }

    @Test("weights saved as safetensors and loaded give the same output; bad files are refused")
    func saveAndLoad() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2s-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        let net = UNet(UNetConfiguration(pools: 2, encoderChannels: 4, decoderChannels: 6, top: [5, 3]), seed: 2)
        try net.save(to: path, metadata: ["note": "test \"quoted\""])
        let (back, metadata) = try UNet.load(from: path)
        #expect(metadata["note"] == "test \"quoted\"")
        #expect(back.configuration == net.configuration)
        let shape = TensorShape(depth: 4, height: 8, width: 4, channels: 1)
        let x = tensor(shape, seed: 3), mask = Tensor(shape)
        mask.set([Float](repeating: 1, count: shape.count))
        let stream = RandomStream(seed: 1, stream: 1)
        #expect(net.forward(x, mask: mask, stream: stream).values == back.forward(x, mask: mask, stream: stream).values)
        // A truncated file and a file of another network are refused with the path.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: path + ".cut"))
        #expect(throws: FilterError.self) { _ = try UNet.load(from: path + ".cut") }
        try Data("{\"a\":1}".utf8).write(to: URL(fileURLWithPath: path + ".json"))
        #expect(throws: FilterError.self) { _ = try UNet.load(from: path + ".json") }
    }

    @Test("training the lite net lowers the masked loss (a real optimisation)")
    func training() {
        let shape = TensorShape(depth: 16, height: 16, width: 16, channels: 1)
        // A smooth structure plus white noise.
        let noise = RandomStream(seed: 4, stream: 2)
        let x = Tensor(shape)
        for z in 0..<16 { for y in 0..<16 { for xx in 0..<16 {
            let i = (z * 16 + y) * 16 + xx
            x.data[i] = sin(Float(xx) * 0.5) * cos(Float(y) * 0.4) + 0.3 * noise.normal(UInt64(i))
        } } }
        let net = UNet(.lite, seed: 1)
        var adam = Adam(learningRate: 1e-3)
        let mask = Tensor(shape), gradient = Tensor(shape)
        var losses: [Float] = []
        for step in 0..<300 {
            let draw = RandomStream(seed: 7, stream: UInt64(step))
            for i in 0..<shape.count { mask.data[i] = draw.uniform(UInt64(i)) < 0.7 ? 1 : 0 }
            net.zeroGradients()
            let out = net.forward(x, mask: mask, stream: draw.child(1))
            losses.append(Layers.maskedMSE(output: out, target: x, mask: mask, gradient: gradient))
            net.backward(gradient)
            adam.update(net.parameters)
            net.parametersChanged()
        }
        let means = stride(from: 0, to: 300, by: 50).map { s in losses[s..<(s + 50)].reduce(0, +) / 50 }
        // Every 50-step window improves on the one before, and the last comes within 12 % of the
        // floor a masked prediction cannot beat: the noise variance, 0.3² = 0.09.
        #expect(zip(means, means.dropFirst()).allSatisfy { $1 < $0 }, "\(means)")
        #expect(means[0] > 0.13 && means.last! < 0.1, "\(means)")
    }
}
