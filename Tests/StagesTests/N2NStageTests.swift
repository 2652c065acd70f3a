import Foundation
import Testing
@testable import FilterKit
@testable import S2SFilter

@Suite("n2n (two halves)")
struct N2NStageTests {
    static let size = S2SStageTests.size
    /// A second half: the same signal as ``S2SStageTests/values`` with independent noise.
    static let secondHalf = S2SStageTests.noisyPattern(noiseSeed: 4)

    static func settings(model: String? = nil, save: String? = nil) -> S2SSettings {
        var s = S2SStageTests.settings(model: model, save: save)
        s.halves = true
        s.network.dropout = 0  // n2n's default
        return s
    }

    @Test("same seed, same output for slabs of 8 and 64 sections, 1 and 2 threads, a pipe for either half")
    func deterministic() throws {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        var outputs: [[Float]] = []
        for (slab, threads, firstIsFile, secondIsFile) in [(8, 2, true, true), (64, 2, true, true), (8, 1, true, true), (3, 2, false, true), (5, 2, true, false)] {
            Parallel.threads = threads
            let stage = try S2SStage(settings: Self.settings())
            #expect(stage.name == "n2n" && stage.takesSecondInput)
            outputs.append(
                try runChain([stage], size: Self.size, values: S2SStageTests.values, second: (Self.secondHalf, secondIsFile), slab: slab, randomAccess: firstIsFile, memory: 512 << 20).1)
        }
        #expect(outputs.allSatisfy { $0 == outputs[0] })
        #expect(outputs[0].allSatisfy { $0.isFinite })
        let mean = outputs[0].reduce(0, +) / Float(outputs[0].count)
        #expect(abs(mean - 5) < 1, "\(mean)")
    }

    @Test("prediction is the mean of both halves' predictions: swapping the halves of a trained model changes nothing")
    func symmetricPrediction() throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("m.safetensors").path
            _ = try runChain([S2SStage(settings: Self.settings(save: path))], size: Self.size, values: S2SStageTests.values, second: (Self.secondHalf, true), slab: nil, memory: 512 << 20)
            let ab = try runChain([S2SStage(settings: Self.settings(model: path))], size: Self.size, values: S2SStageTests.values, second: (Self.secondHalf, true), slab: nil, memory: 512 << 20).1
            let ba = try runChain([S2SStage(settings: Self.settings(model: path))], size: Self.size, values: Self.secondHalf, second: (S2SStageTests.values, true), slab: nil, memory: 512 << 20).1
            let gap = zip(ab, ba).map { abs($0 - $1) }.max()!
            #expect(gap < 1e-4, "\(gap)")
        }
    }

    @Test("a saved model says it was trained on halves, reloads to the same output, and s2s refuses it (and n2n an s2s model)")
    func savedModel() throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("m.safetensors").path
            let trained = try runChain(
                [S2SStage(settings: Self.settings(save: path))], size: Self.size, values: S2SStageTests.values, second: (Self.secondHalf, true), slab: nil, memory: 512 << 20).1
            let (_, metadata) = try UNet.load(from: path)
            #expect(metadata["s2s.method"] == "noise2noise" && metadata["s2s.steps"] == "4" && metadata["s2s.mask"] == nil)
            let reused = try runChain(
                [S2SStage(settings: Self.settings(model: path))], size: Self.size, values: S2SStageTests.values, second: (Self.secondHalf, false), slab: 4, memory: 512 << 20).1
            #expect(reused == trained)
            #expect(throws: FilterError.self) { _ = try S2SStage(settings: S2SStageTests.settings(model: path)) }
            let s2sModel = dir.appendingPathComponent("s2s.safetensors").path
            _ = try runChain([S2SStage(settings: S2SStageTests.settings(save: s2sModel))], size: Self.size, values: S2SStageTests.values, slab: nil, memory: 512 << 20)
            #expect(throws: FilterError.self) { _ = try S2SStage(settings: Self.settings(model: s2sModel)) }
        }
    }

    @Test("two halves whose noise is correlated along X, Y and Z: n2n removes most of it")
    func correlatedNoise() throws {
        let size = Size3(x: 32, y: 32, z: 32)
        var s = S2SStageTests.cubeSettings(steps: 150, samples: 8, halo: 8, patchCount: 16)
        s.halves = true
        s.network.dropout = 0
        /// Noise smoothed over a 3×3×3 box (neighbours correlated on every axis), independent per half.
        func half(_ stream: UInt64) -> [Float] {
            let white = RandomStream(seed: 8, stream: stream)
            func w(_ x: Int, _ y: Int, _ z: Int) -> Float { white.normal(UInt64(((z + 1) * (size.y + 2) + y + 1) * (size.x + 2) + x + 1)) }
            var out = [Float]()
            for z in 0..<size.z { for y in 0..<size.y { for x in 0..<size.x {
                var n: Float = 0
                for dz in -1...1 { for dy in -1...1 { for dx in -1...1 { n += w(x + dx, y + dy, z + dz) } } }
                out.append(n / Float(27).squareRoot())
            } } }
            return out
        }
        let clean: [Float] = (0..<size.voxelCount).map { i in
            let (x, y, z) = (i % size.x, (i / size.x) % size.y, i / size.sectionVoxels)
            return Float(sin(Double(x) * 0.35) * cos(Double(y) * 0.3) * sin(Double(z) * 0.25 + 1)) * 1.5
        }
        let (na, nb) = (half(1), half(2))
        let a = zip(clean, na).map { $0 + $1 }, b = zip(clean, nb).map { $0 + $1 }
        func mse(_ u: [Float]) -> Double { zip(u, clean).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(u.count) }
        let out = try runChain([S2SStage(settings: s)], size: size, values: a, second: (b, true), slab: nil, memory: 512 << 20).1
        let mean = zip(a, b).map { ($0 + $1) / 2 }
        #expect(mse(out) < 0.35 * mse(mean), "mse: mean of halves \(mse(mean)), n2n \(mse(out))")
    }
}
