import Foundation
import Testing
@testable import FilterKit
@testable import S2SFilter


@Suite("s2s stage")
struct S2SStageTests {
    static let size = Size3(x: 20, y: 18, z: 22)
    static let values: [Float] = {
        let noise = RandomStream(seed: 3, stream: 9)
        return (0..<size.voxelCount).map { i in
            let x = i % size.x, y = (i / size.x) % size.y
            return 5 + 2 * sin(Float(x) * 0.6) * cos(Float(y) * 0.5) + noise.normal(UInt64(i))
        }
    }()

    static func settings(model: String? = nil, save: String? = nil) -> S2SSettings {
        var s = S2SSettings()
        s.network = UNetConfiguration.lite
        s.patch = 8
        s.steps = 4
        s.batch = 1
        s.samples = 2
        s.tile = 8
        s.halo = 4
        s.patchCount = 4
        s.modelPath = model
        s.saveModelPath = save
        return s
    }

    @Test("same seed, same output for slabs of 8 and 64 sections, 1 and 2 threads, file and pipe")
    func deterministic() throws {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        var outputs: [[Float]] = []
        for (slab, threads, randomAccess) in [(8, 2, true), (64, 2, true), (8, 1, true), (3, 2, false)] {
            Parallel.threads = threads
            outputs.append(try runChain([S2SStage(settings: Self.settings())], size: Self.size, values: Self.values, slab: slab, randomAccess: randomAccess, memory: 512 << 20).1)
        }
        #expect(outputs.allSatisfy { $0 == outputs[0] })
        #expect(outputs[0].allSatisfy { $0.isFinite })
        // It denoises a little even after 4 steps: output differs from input, mean is kept roughly.
        let mean = outputs[0].reduce(0, +) / Float(outputs[0].count)
        #expect(abs(mean - 5) < 1, "\(mean)")
        #expect(outputs[0] != Self.values)
    }

    @Test("a saved model, reloaded, gives the same output as the model trained in process")
    func savedModel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2s-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        let trained = try runChain([S2SStage(settings: Self.settings(save: path))], size: Self.size, values: Self.values, slab: nil, randomAccess: true, memory: 512 << 20).1
        let (_, metadata) = try UNet.load(from: path)
        #expect(metadata["s2s.mask"] == "xline5" && metadata["s2s.steps"] == "4")
        let reused = try runChain([S2SStage(settings: Self.settings(model: path))], size: Self.size, values: Self.values, slab: nil, randomAccess: true, memory: 512 << 20).1
        #expect(reused == trained)
    }

    /// Mean |v(p) − v(p + e_axis)| over pairs that straddle a tile border and over pairs inside tiles.
    static func neighbourDifferences(_ v: [Float], size: Size3, tile: Int) -> (across: Double, inside: Double) {
        var across = (0.0, 0), inside = (0.0, 0)
        for z in 0..<size.z {
            for y in 0..<size.y {
                for x in 0..<size.x {
                    let i = (z * size.y + y) * size.x + x
                    for (coordinate, n, step) in [(x, size.x, 1), (y, size.y, size.x), (z, size.z, size.x * size.y)] where coordinate + 1 < n {
                        let d = Double(abs(v[i] - v[i + step]))
                        if (coordinate + 1) % tile == 0 { across = (across.0 + d, across.1 + 1) } else { inside = (inside.0 + d, inside.1 + 1) }
                    }
                }
            }
        }
        return (across.0 / Double(across.1), inside.0 / Double(inside.1))
    }

    @Test("no seams: on constant plus noise, neighbours across tile borders differ as much as inside tiles (±10 %)",
          arguments: ["xline", "point", "mixed"])
    func noSeams(mask: String) throws {
        let size = Size3(x: 48, y: 48, z: 48)
        let noise = RandomStream(seed: 11, stream: 2)
        let values = (0..<size.voxelCount).map { 3 + noise.normal(UInt64($0)) }
        var s = S2SSettings()
        s.patch = 16
        s.steps = 30
        s.batch = 2
        s.samples = 8
        s.tile = 16
        s.halo = 4
        s.patchCount = 8
        s.mask = MaskKind.named(mask, block: 2, line: 5)!
        let output = try runChain([S2SStage(settings: s)], size: size, values: values, slab: nil, randomAccess: true, memory: 512 << 20).1
        let (across, inside) = Self.neighbourDifferences(output, size: size, tile: s.tile)
        #expect(abs(across / inside - 1) <= 0.1, "mean |Δ| across tile borders \(across), inside tiles \(inside)")
    }
}
