import Foundation
import Testing
@testable import FilterKit
@testable import S2SFilter


@Suite("s2s stage")
struct S2SStageTests {
    @Test("the parameters' defaults are the settings' defaults (one place writes them)")
    func parameterDefaults() throws {
        let parsed = try S2SParameters.settings(StageParameters(stage: "s2s", schema: S2SFactory.parameters, given: []))
        #expect(parsed == S2SSettings())
        let s2s = try #require(try S2SFactory.make(StageParameters(stage: "s2s", schema: S2SFactory.parameters, given: [])) as? S2SStage)
        #expect(s2s.settings == S2SSettings())
        let refiner = try #require(try S2SFactory.splitRefiner(StageParameters(stage: "s2s", schema: S2SFactory.parameters, given: [])))
        #expect(refiner.settings.steps == S2SSettings().steps && refiner.settings.trainMinutes == S2SSettings().trainMinutes)
    }

    static let size = Size3(x: 20, y: 18, z: 22)
    static let values = noisyPattern(noiseSeed: 3)

    /// A smooth pattern about 5 with unit white noise drawn from `noiseSeed`.
    static func noisyPattern(noiseSeed: UInt64) -> [Float] {
        let noise = RandomStream(seed: noiseSeed, stream: 9)
        return (0..<size.voxelCount).map { i in
            let x = i % size.x, y = (i / size.x) % size.y
            return 5 + 2 * sin(Float(x) * 0.6) * cos(Float(y) * 0.5) + noise.normal(UInt64(i))
        }
    }

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
        (s.distillSteps, s.distillBlocks) = (4, 2)
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
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("m.safetensors").path
            let trained = try runChain([S2SStage(settings: Self.settings(save: path))], size: Self.size, values: Self.values, slab: nil, randomAccess: true, memory: 512 << 20).1
            let (_, metadata) = try UNet.load(from: path)
            // The default mask is measured: the model keeps the blind region it was trained with.
            #expect(metadata["s2s.blind_region"].flatMap(BlindRegion.init(metadata:)) != nil && metadata["s2s.steps"] == "4")
            #expect(metadata["s2s.noise_correlation"]?.hasPrefix("x:1.0,") == true)
            let reused = try runChain([S2SStage(settings: Self.settings(model: path))], size: Self.size, values: Self.values, slab: nil, randomAccess: true, memory: 512 << 20).1
            #expect(reused == trained)
        }
    }

    /// Settings for 16³ patches and tiles, batch 2, a fixed number of steps.
    static func cubeSettings(steps: Int, samples: Int, halo: Int, patchCount: Int) -> S2SSettings {
        var s = S2SSettings()
        (s.patch, s.steps, s.trainMinutes, s.batch) = (16, steps, 1000, 2)
        (s.samples, s.tile, s.tileXY, s.halo, s.patchCount) = (samples, 16, 16, halo, patchCount)
        (s.distillSteps, s.distillBlocks) = (steps, 4)
        return s
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
          arguments: ["auto", "xline", "point", "mixed"])
    func noSeams(mask: String) throws {
        let size = Size3(x: 48, y: 48, z: 48)
        let noise = RandomStream(seed: 11, stream: 2)
        let values = (0..<size.voxelCount).map { 3 + noise.normal(UInt64($0)) }
        var s = Self.cubeSettings(steps: 30, samples: 8, halo: 4, patchCount: 8)
        s.mask = mask == "auto" ? .measured(threshold: 0.1) : .fixed(MaskKind.named(mask, block: 2, line: 5)!)
        let output = try runChain([S2SStage(settings: s)], size: size, values: values, slab: nil, randomAccess: true, memory: 512 << 20).1
        let (across, inside) = Self.neighbourDifferences(output, size: size, tile: s.tile)
        #expect(abs(across / inside - 1) <= 0.1, "mean |Δ| across tile borders \(across), inside tiles \(inside)")
    }

    /// A smooth phantom (blobs) plus noise anti-correlated along X (ramp-like, [−0.5, 1, −0.5]),
    /// and the same with X and Y swapped.
    static func orientedPhantom(size: Size3, swapped: Bool) -> (clean: [Float], noisy: [Float]) {
        let white = RandomStream(seed: 21, stream: 4)
        let (nx, ny) = swapped ? (size.y, size.x) : (size.x, size.y)
        func w(_ x: Int, _ y: Int, _ z: Int) -> Float { white.normal(UInt64((z * (size.y + 2) + y + 1) * (size.x + 2) + x + 1)) }
        var clean = [Float](), noisy = [Float]()
        for z in 0..<size.z { for y in 0..<ny { for x in 0..<nx {
            // Coordinates in the unswapped frame: the noise and the signal move with the swap.
            let (u, v) = swapped ? (y, x) : (x, y)
            let s = Float(sin(Double(u) * 0.35) * cos(Double(v) * 0.3) * sin(Double(z) * 0.25 + 1)) * 1.5
            let n = w(u, v, z) - 0.5 * w(u - 1, v, z) - 0.5 * w(u + 1, v, z)
            clean.append(s)
            noisy.append(s + n)
        } } }
        return (clean, noisy)
    }

    @Test("orientation: a volume with X and Y swapped is denoised as well, into the swapped output (mask auto)")
    func swappedOrientation() throws {
        let size = Size3(x: 48, y: 32, z: 32)
        let s = Self.cubeSettings(steps: 150, samples: 4, halo: 8, patchCount: 16)
        func mse(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(a.count) }
        let (clean, noisy) = Self.orientedPhantom(size: size, swapped: false)
        let (cleanT, noisyT) = Self.orientedPhantom(size: size, swapped: true)
        let stage = try S2SStage(settings: s), stageT = try S2SStage(settings: s)
        let out = try runChain([stage], size: size, values: noisy, slab: nil, randomAccess: true, memory: 512 << 20).1
        let outT = try runChain([stageT], size: Size3(x: size.y, y: size.x, z: size.z), values: noisyT, slab: nil, randomAccess: true, memory: 512 << 20).1
        // The blind regions are each other's transpose.
        guard case let .cells(cells) = stage.mask, case let .cells(cellsT) = stageT.mask else { Issue.record("no measured region"); return }
        let (region, regionT) = (cells.region, cellsT.region)
        #expect(Set(regionT.offsets) == Set(region.offsets.map { SIMD3($0.y, $0.x, $0.z) }), "\(region) vs \(regionT)")
        #expect(region.extent.x >= 1 && region.extent.y == 0, "\(region.offsets)")
        // Both denoise, equally well, and agree voxel by voxel once swapped back.
        let (input, error, errorT) = (mse(noisy, clean), mse(out, clean), mse(outT, cleanT))
        #expect(error < 0.5 * input && errorT < 0.5 * input, "mse: input \(input), output \(error), swapped \(errorT)")
        #expect(abs(error - errorT) < 0.4 * max(error, errorT), "mse \(error) vs swapped \(errorT)")
        var swappedBack = [Float](repeating: 0, count: outT.count)
        for z in 0..<size.z { for y in 0..<size.y { for x in 0..<size.x {
            swappedBack[(z * size.y + y) * size.x + x] = outT[(z * size.x + x) * size.y + y]
        } } }
        #expect(mse(swappedBack, out) < 0.25 * input, "difference \(mse(swappedBack, out)), input error \(input)")
    }

    static func mse(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(a.count) }

    @Test("distillation: the one-pass network denoises as well as the 8-pass ensemble it learnt, and is closer to it than the input; a model keeps it")
    func distilled() throws {
        let size = Size3(x: 48, y: 32, z: 32)
        var s = Self.cubeSettings(steps: 150, samples: 8, halo: 8, patchCount: 16)
        (s.distillSteps, s.distillBlocks, s.tileXY) = (60, 8, 32)
        let (clean, noisy) = Self.orientedPhantom(size: size, swapped: false)
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("m.safetensors").path
            s.saveModelPath = path
            let stage = try S2SStage(settings: s)
            let student = try runChain([stage], size: size, values: noisy, slab: nil, randomAccess: true, memory: 512 << 20).1
            #expect(stage.student != nil)
            var reuse = s
            (reuse.saveModelPath, reuse.modelPath) = (nil, path)
            let reloaded = try runChain([S2SStage(settings: reuse)], size: size, values: noisy, slab: 5, randomAccess: true, memory: 512 << 20).1
            #expect(reloaded == student)
            reuse.distillSteps = 0
            let ensemble = try runChain([S2SStage(settings: reuse)], size: size, values: noisy, slab: nil, randomAccess: true, memory: 512 << 20).1
            let (input, errorStudent, errorEnsemble) = (Self.mse(noisy, clean), Self.mse(student, clean), Self.mse(ensemble, clean))
            #expect(errorEnsemble < 0.5 * input, "ensemble mse \(errorEnsemble), input \(input)")
            #expect(errorStudent <= 1.1 * errorEnsemble, "student mse \(errorStudent), ensemble \(errorEnsemble)")
            #expect(Self.mse(student, ensemble) < 0.25 * Self.mse(noisy, ensemble), "student vs ensemble \(Self.mse(student, ensemble)), input vs ensemble \(Self.mse(noisy, ensemble))")
        }
    }

    @Test("a model saved without a student is distilled when used (one prepass), and --distill 0 predicts with the ensemble")
    func distilledLater() throws {
        let size = Self.size
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("m.safetensors").path
            var s = Self.settings(save: path)
            s.distillSteps = 0
            let ensemble = try runChain([S2SStage(settings: s)], size: size, values: Self.values, slab: nil, randomAccess: true, memory: 512 << 20).1
            #expect(try UNet.loadStudent(from: path) == nil)
            var later = Self.settings(model: path)
            later.distillSteps = 4
            let stage = try S2SStage(settings: later)
            #expect(stage.prepassCount == 1)
            let student = try runChain([stage], size: size, values: Self.values, slab: nil, randomAccess: true, memory: 512 << 20).1
            #expect(stage.student != nil && student != ensemble)
            later.distillSteps = 0
            let again = try S2SStage(settings: later)
            #expect(again.student == nil)
            #expect(try runChain([again], size: size, values: Self.values, slab: nil, randomAccess: true, memory: 512 << 20).1 == ensemble)
        }
    }

    @Test("memory: at 512M 1024² sections run on bricks of 64×64×32 tiles with all 64 distillation blocks, 512² keep whole sections; a model predicts 1024² on bricks too; small sections keep theirs")
    func tilesNarrowedByBudget() throws {
        func plan(_ side: Int, model: String? = nil) throws -> (S2SStage, MemoryPlan) {
            var s = S2SSettings()
            s.steps = 1
            s.modelPath = model
            let stage = try S2SStage(settings: s)
            let info = VolumeInfo(size: Size3(x: side, y: side, z: 96), elementType: .float32, voxelSize: SIMD3(repeating: 10))
            let pipeline = try Pipeline(reader: InfoOnlyReader(info: info), stages: [stage], options: PipelineOptions(memoryBudget: 512 << 20))
            return (stage, pipeline.plan)
        }
        let (medium, mediumPlan) = try plan(512)
        #expect(medium.tileSideXY == 64 && mediumPlan.brick == nil)
        // Whole sections do not fit, bricks of whole 64×64 tiles do, with every distillation block
        // (until session 14: 32³ tiles and 32 blocks, slower).
        let (large, largePlan) = try plan(1024)
        #expect(large.tileSideXY == 64 && large.settings.distillBlocks == 64, "\(largePlan)")
        // A band of whole rows, a whole number of tiles high.
        #expect(largePlan.brick.map { $0.x == 1024 && $0.y % 64 == 0 && $0.y < 1024 } == true, "\(largePlan)")
        #expect(try plan(40).0.tileSideXY == 40)
        // A model with its distilled network: prediction alone sets the peak.
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("m.safetensors").path
            var s = Self.cubeSettings(steps: 2, samples: 8, halo: 8, patchCount: 4)
            (s.saveModelPath, s.distillSteps, s.distillBlocks) = (path, 2, 2)
            _ = try runChain([S2SStage(settings: s)], size: Self.size, values: Self.values, slab: nil, randomAccess: true, memory: 512 << 20)
            let (fits, fitsPlan) = try plan(896, model: path)
            #expect(fits.tileSideXY == 64 && fitsPlan.brick == nil)
            let (wide, widePlan) = try plan(1024, model: path)
            #expect(wide.tileSideXY == 64 && widePlan.brick != nil, "\(widePlan)")
        }
    }
}
