import Foundation
import Testing
@testable import FilterKit
@testable import Resampling
@testable import Intensity

@Suite("bin, crop, normalize")
struct ResamplingTests {
    static let size = Size3(x: 10, y: 9, z: 11)
    static let values = randomVolume(size, seed: 7)

    @Test("bin averages blocks, drops remainders, scales voxel size and moves the origin", arguments: [1, 2, 3, 64])
    func bin(slab: Int) throws {
        let size = ResamplingTests.size, values = ResamplingTests.values
        let (info, out) = try runChain([BinStage(factor: SIMD3(2, 3, 2))], size: size, values: values, slab: slab)
        #expect(info.size == Size3(x: 5, y: 3, z: 5))
        #expect(info.voxelSize == SIMD3(4, 6, 4))
        #expect(info.origin == SIMD3<Float>(1 + 1, 2 + 2, 3 + 1))
        for z in 0..<5 { for y in 0..<3 { for x in 0..<5 {
            var sum = 0.0
            for dz in 0..<2 { for dy in 0..<3 { for dx in 0..<2 {
                sum += Double(values[((2 * z + dz) * size.y + 3 * y + dy) * size.x + 2 * x + dx])
            } } }
            #expect(abs(Double(out[(z * 3 + y) * 5 + x]) - sum / 12) < 1e-6)
        } } }
    }

    @Test("crop keeps the box, its values and its position in space", arguments: [1, 4, 64])
    func crop(slab: Int) throws {
        let size = ResamplingTests.size, values = ResamplingTests.values
        let (info, out) = try runChain([CropStage(x: 2..<7, y: nil, z: 3..<10)], size: size, values: values, slab: slab)
        #expect(info.size == Size3(x: 5, y: 9, z: 7))
        #expect(info.origin == SIMD3<Float>(1 + 2 * 2, 2, 3 + 3 * 2))
        var expected: [Float] = []
        for z in 3..<10 { for y in 0..<9 { for x in 2..<7 { expected.append(values[(z * size.y + y) * size.x + x]) } } }
        #expect(out == expected)
    }

    @Test("crop outside the volume is refused before any voxel is read")
    func cropOutside() throws {
        let error = #expect(throws: FilterError.self) {
            _ = try runChain([CropStage(x: nil, y: nil, z: 5..<40)], size: ResamplingTests.size, values: ResamplingTests.values, slab: nil)
        }
        #expect("\(error!)".contains("crop z '5..40': expected a range within the volume's 11 voxels"))
    }

    @Test("normalize mean/std: exact mean 0 and std 1, the same from an in-order input")
    func meanStd() throws {
        let size = ResamplingTests.size, values = ResamplingTests.values.map { $0 * 30 + 100 }
        let (_, fromFile) = try runChain([try NormalizeStage(percentiles: nil)], size: size, values: values, slab: 2)
        let (_, fromPipe) = try runChain([try NormalizeStage(percentiles: nil)], size: size, values: values, slab: 3, randomAccess: false)
        #expect(fromFile == fromPipe)
        var stats = RunningStatistics()
        fromFile.withUnsafeBufferPointer { stats.add($0.baseAddress!, count: $0.count) }
        #expect(abs(stats.mean) < 1e-6)
        #expect(abs(stats.standardDeviation - 1) < 1e-5)
    }

    @Test("normalize percentile: clipped to [0, 1] at the requested percentiles")
    func percentile() throws {
        let size = ResamplingTests.size, values = ResamplingTests.values
        let (_, out) = try runChain([try NormalizeStage(percentiles: (5, 95))], size: size, values: values, slab: nil)
        #expect(out.min() == 0 && out.max() == 1)
        let below = out.filter { $0 == 0 }.count, above = out.filter { $0 == 1 }.count
        let n = Double(values.count)
        #expect(abs(Double(below) / n - 0.05) < 0.01 && abs(Double(above) / n - 0.05) < 0.01, "\(below) \(above)")
    }

    @Test("a chain that cannot fit the budget fails before reading, saying what it needs; bricks when whole sections do not fit")
    func overBudget() throws {
        let size = Size3(x: 2048, y: 2048, z: 4)
        let reader = ArrayVolumeReader(size: size, values: [])
        let error = #expect(throws: FilterError.self) {
            _ = try Pipeline(reader: reader, stages: [BinStage(factor: SIMD3(2, 2, 2))], options: PipelineOptions(memoryBudget: 20 << 20))
        }
        #expect("\(error!)".hasPrefix("the chain bin on 2048×2048×4 voxels"))
        #expect("\(error!)".contains("but the memory budget is 20 MiB (raise --memory)"))
        // Whole sections need about 80 MiB here: 40 MiB runs on bricks.
        let plan = try Pipeline(reader: reader, stages: [BinStage(factor: SIMD3(2, 2, 2))], options: PipelineOptions(memoryBudget: 40 << 20)).plan
        #expect(plan.brick != nil && plan.bytes + MemoryPlan.runtimeOverhead <= 40 << 20, "\(plan)")
    }

    @Test("the planner keeps the estimate within the budget and picks thicker slabs with more memory")
    func planner() throws {
        let size = Size3(x: 512, y: 512, z: 200)
        let reader = ArrayVolumeReader(size: size, values: [])
        let small = try Pipeline(reader: reader, stages: [GaussianStageForPlan.make()], options: PipelineOptions(memoryBudget: 64 << 20)).plan
        let large = try Pipeline(reader: reader, stages: [GaussianStageForPlan.make()], options: PipelineOptions(memoryBudget: 1 << 30)).plan
        #expect(small.bytes + MemoryPlan.runtimeOverhead <= 64 << 20)
        #expect(large.slabSections > small.slabSections)
    }
}

import Smoothing
enum GaussianStageForPlan {
    static func make() -> GaussianStage { GaussianStage(sigma: SIMD3(2, 2, 2)) }
}
