import Foundation
import Testing
@testable import FilterKit
@testable import S2SFilter

/// Forward and backward of the lite net against `../shared/tools/torch_s2s3d.py` with the same
/// weights (saved by Swift as safetensors, loaded by PyTorch with strict=True), mask and input,
/// dropout off. Runs when python3 with torch is installed; skips with a message otherwise.
@Suite("S2S U-Net against PyTorch")
struct TorchParityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("lite net on a 16³ input: output and every parameter gradient within 1e-4 of PyTorch")
    func matchesPyTorch() throws {
        let reference = Self.root.deletingLastPathComponent().appendingPathComponent("shared/tools/torch_s2s3d.py")
        guard FileManager.default.fileExists(atPath: reference.path), (try? Self.run(["python3", "-c", "import torch"]).status) == 0 else {
            print("skipped: needs python3 with torch and ../shared/tools/torch_s2s3d.py")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = UNetConfiguration.lite
        config.dropout = 0
        let net = UNet(config, seed: 11)
        let shape = TensorShape(depth: 16, height: 16, width: 16, channels: 1)
        let x = tensor(shape, seed: 12), mask = Tensor(shape), gradient = Tensor(shape)
        BernoulliMask.fill(mask, dropRate: 0.3, stream: RandomStream(seed: 13, stream: 0))
        net.zeroGradients()
        let out = net.forward(x, mask: mask, stream: RandomStream(seed: 14, stream: 0))
        _ = Layers.maskedMSE(output: out, target: x, mask: mask, gradient: gradient)
        net.backward(gradient)
        let model = dir.appendingPathComponent("model.safetensors").path, cases = dir.appendingPathComponent("case.safetensors").path
        try net.save(to: model)
        var tensors: [(name: String, shape: [Int], values: UnsafePointer<Float>)] = [
            ("x", [1, 16, 16, 16, 1], UnsafePointer(x.data)), ("mask", [1, 16, 16, 16, 1], UnsafePointer(mask.data)),
            ("out", [1, 16, 16, 16, 1], UnsafePointer(out.data)),
        ]
        tensors += net.parameters.map { ("grad.\($0.name)", $0.torchShape, UnsafePointer($0.gradient)) }
        try Safetensors.write(tensors, metadata: [:], to: cases)
        let result = try Self.run(["python3", Self.root.appendingPathComponent("scripts/torch-parity.py").path, model, cases])
        print("PyTorch parity: \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        #expect(result.status == 0, "\(result.output)")
    }
}
