import Foundation
import Testing
@testable import FilterKit
@testable import Intensity
@testable import Resampling
@testable import S2SFilter
@testable import Smoothing

/// Issue 19: a chain run on bricks (X-Y rectangles of the output, each streamed over every
/// section) equals the same chain on slabs of whole sections bit for bit: every stage that
/// takes bricks, every boundary mode, bricks of odd sizes and bricks smaller than the halo, at
/// every face, from a file and from a pipe, with and without the reader and writer threads,
/// for a part of the sections too.
@Suite("bricks equal slabs")
struct BrickEquivalenceTests {
    static let size = Size3(x: 13, y: 11, z: 17)
    static let values = randomVolume(size, seed: 7)
    /// 1×1 and 3×2 are smaller than every halo below; 13×4 spans X whole; 5×7 leaves ragged edges.
    static let bricks = [SIMD2(1, 1), SIMD2(3, 2), SIMD2(5, 7), SIMD2(13, 4)]

    static func expectBricksEqualSlabs(_ make: () throws -> [any Stage], sections: Range<Int>? = nil, _ what: String) throws {
        let (size, values) = (BrickEquivalenceTests.size, BrickEquivalenceTests.values)
        let (_, slabs) = try runChain(try make(), size: size, values: values, slab: nil, sections: sections)
        for brick in BrickEquivalenceTests.bricks {
            // From a file and from a pipe with the reader and writer threads, and from a file without.
            for (randomAccess, threads) in [(true, true), (false, true), (true, false)] {
                let (_, bricked) = try runChain(
                    try make(), size: size, values: values, slab: nil, randomAccess: randomAccess, backgroundIO: threads, sections: sections, brick: brick)
                #expect(bricked == slabs, "\(what): bricks of \(brick.x)×\(brick.y) (\(randomAccess ? "file" : "pipe"), \(threads ? "" : "no ")I/O threads) differ from slabs")
            }
        }
    }

    @Test("gaussian, halos up to 12 voxels", arguments: BoundaryMode.allCases)
    func gaussian(_ mode: BoundaryMode) throws {
        try Self.expectBricksEqualSlabs({ [GaussianStage(sigma: SIMD3(0.7, 3, 1.5), truncate: 4, boundary: mode)] }, "gaussian \(mode)")
    }

    @Test("median 3 and 5", arguments: BoundaryMode.allCases)
    func median(_ mode: BoundaryMode) throws {
        try Self.expectBricksEqualSlabs({ [MedianStage(size: 3, boundary: mode)] }, "median 3 \(mode)")
        try Self.expectBricksEqualSlabs({ [MedianStage(size: 5, boundary: mode)] }, "median 5 \(mode)")
    }

    @Test("bin, crop and normalize (its prepass first, over whole sections)")
    func resamplingAndIntensity() throws {
        try Self.expectBricksEqualSlabs({ [BinStage(factor: SIMD3(2, 3, 2))] }, "bin 2×3×2")
        try Self.expectBricksEqualSlabs({ [CropStage(x: 2..<11, y: 1..<10, z: 3..<15)] }, "crop")
        try Self.expectBricksEqualSlabs({ [try NormalizeStage(percentiles: nil)] }, "normalize")
        try Self.expectBricksEqualSlabs({ [try NormalizeStage(percentiles: (1, 99))] }, "normalize percentiles")
    }

    @Test("a chain: the halos add up through every stage, each with its own boundary")
    func chain() throws {
        try Self.expectBricksEqualSlabs({
            [GaussianStage(sigma: SIMD3(1, 2, 1), boundary: .periodic), MedianStage(size: 3, boundary: .reflect),
             BinStage(factor: SIMD3(2, 1, 1)), CropStage(x: 1..<5, y: nil, z: 2..<16), GaussianStage(sigma: SIMD3(1, 1, 0), boundary: .zero)]
        }, "chain")
        try Self.expectBricksEqualSlabs({
            [try NormalizeStage(percentiles: (2, 98)), GaussianStage(sigma: SIMD3(2, 1, 1), boundary: .symmetric), MedianStage(size: 5, boundary: .nearest)]
        }, "chain after normalize")
    }

    @Test("s2s: the distilled network and the ensemble, on bricks aligned to its tiles or not, equal whole sections")
    func s2s() throws {
        let size = S2SStageTests.size, values = S2SStageTests.values
        for distil in [4, 0] {
            var s = S2SStageTests.settings()
            s.tileXY = 8
            s.distillSteps = distil
            let (_, slabs) = try runChain([try S2SStage(settings: s)], size: size, values: values, slab: nil, memory: 512 << 20)
            for brick in [SIMD2(8, 8), SIMD2(16, 8), SIMD2(5, 11)] {
                let (_, bricked) = try runChain([try S2SStage(settings: s)], size: size, values: values, slab: nil, memory: 512 << 20, brick: brick)
                #expect(bricked == slabs, "distil \(distil): bricks of \(brick.x)×\(brick.y) differ from slabs")
            }
        }
    }

    @Test("a part of the sections (--zrange) on bricks equals the same part on slabs")
    func part() throws {
        try Self.expectBricksEqualSlabs({ [GaussianStage(sigma: SIMD3(1, 1, 2), boundary: .reflect)] }, sections: 5..<9, "part 5..<9")
    }

    @Test(
        "the writer's statistics and bytes do not depend on slabs or bricks, placed into the file or assembled in order",
        arguments: [ElementType.float32, .int16, .float16])
    func statistics(_ type: ElementType) throws {
        let size = Size3(x: 300, y: 290, z: 3)
        let values = randomVolume(size, seed: 3).map { $0 * 1000 + 12345 }
        /// The written file after its 1024-byte header, and the header's DMIN, DMAX, DMEAN, RMS.
        func written(_ slab: Int?, _ brick: SIMD2<Int>?, placing: Bool) throws -> ([Float], Data) {
            let reader = ArrayVolumeReader(size: size, values: values)
            let pipeline = try Pipeline(reader: reader, stages: [GaussianStage(sigma: SIMD3(1, 1, 1))], options: PipelineOptions(slabSections: slab, brick: brick))
            return try withTemporaryDirectory { dir in
                let path = dir.appendingPathComponent("out.mrc").path
                var info = pipeline.writtenInfo
                info.elementType = type
                let mrc = try MRCWriter(target: OutputTarget.create(path, protecting: []), info: info, operation: "test")
                // A writer that takes rows in order only gets the bricks through the assembly file.
                let writer: any VolumeWriter = placing ? mrc : RowsInOrderWriter(base: mrc)
                try pipeline.run(writer: writer)
                try writer.finish()
                let h = try MRCReader(source: InputSource.open(path)).header
                return ([h.float32(at: 76), h.float32(at: 80), h.float32(at: 84), h.float32(at: 216)], try Data(contentsOf: URL(fileURLWithPath: path)).suffix(from: 1024))
            }
        }
        let (reference, bytes) = try written(nil, nil, placing: true)
        for (slab, brick) in [(1, nil), (2, nil), (nil, SIMD2(64, 64)), (1, SIMD2(7, 290)), (nil, SIMD2(300, 7))] as [(Int?, SIMD2<Int>?)] {
            for placing in [true, false] {
                let (statistics, data) = try written(slab, brick, placing: placing)
                let what = "\(type), slab \(slab ?? 0), brick \(brick.map { "\($0)" } ?? "none"), \(placing ? "placed" : "assembled")"
                #expect(statistics == reference, "\(what)")
                #expect(data == bytes, "\(what)")
            }
        }
    }

    @Test("a TIFF output is assembled from bricks as from slabs")
    func tiff() throws {
        let size = Size3(x: 40, y: 30, z: 6)
        let values = randomVolume(size, seed: 5)
        func run(_ brick: SIMD2<Int>?) throws -> [Float] {
            let pipeline = try Pipeline(
                reader: ArrayVolumeReader(size: size, values: values), stages: [MedianStage(size: 3)], options: PipelineOptions(brick: brick))
            return try withTemporaryDirectory { dir in
                let path = dir.appendingPathComponent("out.tif").path
                let writer = try TIFFWriter(target: OutputTarget.create(path, protecting: []), info: pipeline.writtenInfo, operation: "test")
                try pipeline.run(writer: writer)
                try writer.finish()
                let back = try TIFFReader(source: InputSource.open(path))
                var out = [Float](repeating: .nan, count: size.voxelCount)
                try out.withUnsafeMutableBufferPointer { try back.readSections(0..<size.z, into: $0.baseAddress!) }
                return out
            }
        }
        #expect(try run(SIMD2(9, 8)) == run(nil))
    }

    @Test("the planner: whole sections when they fit, bricks when they do not, a clear refusal otherwise")
    func planner() throws {
        let wide = Size3(x: 1024, y: 1024, z: 20)
        let info = VolumeInfo(size: wide, elementType: .float32, voxelSize: SIMD3(repeating: 1))
        let gaussian = GaussianStage(sigma: SIMD3(repeating: 2))
        let fits = try MemoryPlan.make(stages: [gaussian], infos: [info, info], budget: 256 << 20, slabSections: nil, readAhead: nil, writerThread: true)
        #expect(fits.brick == nil)
        let bricked = try MemoryPlan.make(stages: [gaussian], infos: [info, info], budget: 48 << 20, slabSections: nil, readAhead: nil, writerThread: true)
        // A band of whole rows: each of its sections is one run of the files.
        let brick = try #require(bricked.brick)
        #expect(brick.x == wide.x && brick.y < wide.y && brick.y >= 16, "\(bricked)")
        #expect(bricked.bytes + MemoryPlan.runtimeOverhead <= 48 << 20)
        #expect(bricked.description.contains("whole sections need"))
        // Sections too wide for even a band of 16 rows: squares (clipped to the section's 64 rows).
        let veryWide = VolumeInfo(size: Size3(x: 1 << 16, y: 64, z: 20), elementType: .float32, voxelSize: SIMD3(repeating: 1))
        let squares = try MemoryPlan.make(stages: [gaussian], infos: [veryWide, veryWide], budget: 48 << 20, slabSections: nil, readAhead: nil, writerThread: true)
        let square = try #require(squares.brick)
        #expect(square.x < 1 << 16 && square.x >= 64 && square.y == 64, "\(squares)")
        #expect(throws: FilterError.self) {
            try MemoryPlan.make(stages: [gaussian], infos: [info, info], budget: 8 << 20, slabSections: nil, readAhead: nil, writerThread: true)
        }
        // s2s works on bricks of its tiles; n2n (two inputs) and whole-volume stages do not.
        let s2s = try S2SStage(settings: S2SSettings())
        let s2sInfo = try s2s.outputInfo(for: info)
        let s2sPlan = try MemoryPlan.make(stages: [s2s], infos: [info, s2sInfo], budget: 256 << 20, slabSections: nil, readAhead: nil, writerThread: true)
        let s2sBrick = try #require(s2sPlan.brick, "\(s2sPlan)")
        #expect(s2sBrick.x % s2s.tileSideXY == 0 && s2sBrick.y % s2s.tileSideXY == 0 && s2s.tileSideXY == 64, "bricks of whole 64² tiles: \(s2sPlan)")
        var halves = S2SSettings()
        halves.halves = true
        let n2n = try S2SStage(settings: halves)
        #expect(MemoryPlan.brickRefusal(kinds: try StageKind.of([n2n]), secondInput: true) != nil)
        #expect(throws: FilterError.self) {
            try MemoryPlan.make(stages: [n2n], infos: [info, s2sInfo], budget: 256 << 20, slabSections: nil, readAhead: nil, writerThread: true, secondInput: true, brick: SIMD2(64, 64))
        }
        // A stage that measures its input first must come first.
        #expect(MemoryPlan.brickRefusal(kinds: try StageKind.of([gaussian, try NormalizeStage(percentiles: nil)]), secondInput: false) != nil)
        #expect(MemoryPlan.brickRefusal(kinds: try StageKind.of([try NormalizeStage(percentiles: nil), gaussian]), secondInput: false) == nil)
    }

    @Test("the rectangle a padded box reads, in every boundary mode")
    func sourceRectangle() {
        let size = Size3(x: 10, y: 8, z: 1)
        let box = Box(origin: SIMD3(-3, 5, 0), size: Size3(x: 6, y: 6, z: 1))  // x -3..<3, y 5..<11
        #expect(PlaneRect.source(of: box, mode: .nearest, in: size) == PlaneRect(x: 0..<3, y: 5..<8))
        #expect(PlaneRect.source(of: box, mode: .zero, in: size) == PlaneRect(x: 0..<3, y: 5..<8))
        #expect(PlaneRect.source(of: box, mode: .symmetric, in: size) == PlaneRect(x: 0..<3, y: 5..<8))
        #expect(PlaneRect.source(of: box, mode: .reflect, in: size) == PlaneRect(x: 0..<4, y: 4..<8))
        #expect(PlaneRect.source(of: box, mode: .periodic, in: size) == PlaneRect(x: 0..<10, y: 0..<8))
    }
}

/// Forwards to a writer but takes rows in order only (as a pipe's or a TIFF's writer does).
private final class RowsInOrderWriter: VolumeWriter {
    let base: any VolumeWriter
    init(base: any VolumeWriter) { self.base = base }
    var warnings: [String] { base.warnings }
    var clampedCount: Int { base.clampedCount }
    func writeRows(_ count: Int, from values: UnsafeMutablePointer<Float>) throws { try base.writeRows(count, from: values) }
    func finish() throws { try base.finish() }
    func abort() { base.abort() }
}
