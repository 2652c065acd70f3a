import Foundation
import Testing
@testable import FilterKit
@testable import S2SFilter

/// A paired stage for the engine's tests: out = Σ over the halo box of (a − ½ b), minus the
/// global means' same combination when it makes a prepass (so prepass and streaming both count).
final class PairedBoxSum: PairedInputStage {
    let name = "pairsum"
    let halo: SIMD3<Int>
    let boundary: BoundaryMode
    let prepassCount: Int
    var takesSecondInput: Bool { true }
    private var sums = (a: 0.0, b: 0.0, count: 0)
    private(set) var offset: Float = 0

    init(halo: SIMD3<Int>, boundary: BoundaryMode, prepass: Bool) {
        (self.halo, self.boundary, prepassCount) = (halo, boundary, prepass ? 1 : 0)
    }

    func outputInfo(for input: VolumeInfo) throws -> VolumeInfo { input }
    func inputBox(forOutput output: Box) -> Box { output.padded(by: halo) }

    func prepass(_ pass: Int, sections: UnsafePointer<Float>, count: Int, info: VolumeInfo) throws {
        Issue.record("the one-input prepass was called on a paired stage")
    }

    func prepass(_ pass: Int, sections: UnsafePointer<Float>, second: UnsafePointer<Float>, count: Int, info: VolumeInfo) throws {
        for i in 0..<(count * info.size.sectionVoxels) {
            sums.a += Double(sections[i])
            sums.b += Double(second[i])
        }
        sums.count += count * info.size.sectionVoxels
    }

    func finishPrepass(_ pass: Int) throws { offset = Float((sums.a - 0.5 * sums.b) / Double(sums.count)) }

    func process(_ input: InputRegion, into output: OutputRegion) throws {
        Issue.record("the one-input process was called on a paired stage")
    }

    func process(_ input: InputRegion, second: InputRegion, into output: OutputRegion) throws {
        let (ox, oy, oz) = (output.box.size.x, output.box.size.y, output.box.size.z)
        let width = input.box.size.x
        for z in 0..<oz {
            for y in 0..<oy {
                for x in 0..<ox {
                    var sum: Float = 0
                    for dz in 0...(2 * halo.z) {
                        let (pa, pb) = (input.plane(z + dz), second.plane(z + dz))
                        for dy in 0...(2 * halo.y) {
                            for dx in 0...(2 * halo.x) {
                                let i = (y + dy) * width + x + dx
                                sum += pa[i] - 0.5 * pb[i]
                            }
                        }
                    }
                    output.data[(z * oy + y) * ox + x] = sum - offset
                }
            }
        }
    }

    /// The same over whole volumes.
    static func reference(_ a: [Float], _ b: [Float], size: Size3, halo: SIMD3<Int>, mode: BoundaryMode, offset: Float) -> [Float] {
        var out = [Float](repeating: 0, count: size.voxelCount)
        for z in 0..<size.z {
            for y in 0..<size.y {
                for x in 0..<size.x {
                    var sum = 0.0
                    for dz in -halo.z...halo.z {
                        for dy in -halo.y...halo.y {
                            for dx in -halo.x...halo.x {
                                sum += padded(a, size, mode, x + dx, y + dy, z + dz) - 0.5 * padded(b, size, mode, x + dx, y + dy, z + dz)
                            }
                        }
                    }
                    out[(z * size.y + y) * size.x + x] = Float(sum) - offset
                }
            }
        }
        return out
    }
}

@Suite("two inputs (paired stages)")
struct PairedInputTests {
    static let size = Size3(x: 13, y: 11, z: 17)
    static let a = randomVolume(size, seed: 5), b = randomVolume(size, seed: 6)

    @Test(
        "streaming two inputs equals the whole-volume computation (slabs, boundaries, a pipe for either input)",
        arguments: [BoundaryMode.reflect, .zero, .periodic, .nearest])
    func equalsWholeVolume(mode: BoundaryMode) throws {
        let halo = SIMD3(1, 2, 3)
        for prepass in [false, true] {
            var expected: [Float]?
            for (slab, firstIsFile, secondIsFile) in [(1, true, true), (4, true, true), (nil, true, true), (3, false, true), (2, true, false), (5, false, false)] as [(Int?, Bool, Bool)] {
                let stage = PairedBoxSum(halo: halo, boundary: mode, prepass: prepass)
                let out = try runChain([stage], size: Self.size, values: Self.a, second: (Self.b, secondIsFile), slab: slab, randomAccess: firstIsFile).1
                if expected == nil {
                    expected = PairedBoxSum.reference(Self.a, Self.b, size: Self.size, halo: halo, mode: mode, offset: stage.offset)
                    #expect(prepass == (stage.offset != 0))
                }
                let error = zip(out, expected!).map { abs($0 - $1) }.max()!
                #expect(error < 1e-4, "slab \(String(describing: slab)), files \(firstIsFile)/\(secondIsFile), prepass \(prepass): \(error)")
            }
        }
    }

    @Test("a following stage sees the paired stage's output; parts of a split run equal the whole")
    func chainAndParts() throws {
        let halo = SIMD3(1, 1, 1)
        let whole = try runChain(
            [PairedBoxSum(halo: halo, boundary: .reflect, prepass: true), GaussianStageForPlan.make()], size: Self.size, values: Self.a,
            second: (Self.b, true), slab: 2).1
        let section = Self.size.sectionVoxels
        for range in [0..<5, 5..<17] {
            let part = try runChain(
                [PairedBoxSum(halo: halo, boundary: .reflect, prepass: true), GaussianStageForPlan.make()], size: Self.size, values: Self.a,
                second: (Self.b, false), slab: 3, sections: range).1
            #expect(part == Array(whole[(range.lowerBound * section)..<(range.upperBound * section)]))
        }
    }

    @Test("two inputs that do not describe the same volume are refused before any voxel is read")
    func mismatchRefused() throws {
        let stage = PairedBoxSum(halo: SIMD3(1, 1, 1), boundary: .reflect, prepass: true)
        let first = ArrayVolumeReader(size: Self.size, values: Self.a)
        let shorter = ArrayVolumeReader(size: Size3(x: 13, y: 11, z: 16), values: Array(Self.b.prefix(13 * 11 * 16)))
        let coarser = ArrayVolumeReader(size: Self.size, values: Self.b, voxelSize: 4)
        for second in [shorter, coarser] {
            #expect {
                _ = try Pipeline(reader: first, second: second, stages: [stage], options: PipelineOptions())
            } throws: { error in
                guard case let .mismatchedInputs(_, _, difference) = error as? FilterError else { return false }
                return difference.contains(second === shorter ? "sizes" : "voxel sizes")
            }
            #expect(first.rowsRead == 0 && second.rowsRead == 0)
        }
        // A paired stage without its second input, a second input nothing reads, a paired stage
        // after another: refused too.
        #expect(throws: FilterError.self) { _ = try Pipeline(reader: first, stages: [stage], options: PipelineOptions()) }
        let other = ArrayVolumeReader(size: Self.size, values: Self.b)
        #expect(throws: FilterError.self) { _ = try Pipeline(reader: first, second: other, stages: [GaussianStageForPlan.make()], options: PipelineOptions()) }
        #expect(throws: FilterError.self) {
            _ = try Pipeline(reader: first, second: other, stages: [GaussianStageForPlan.make(), stage], options: PipelineOptions())
        }
        #expect(first.rowsRead == 0 && other.rowsRead == 0)
    }

    @Test("the memory plan counts the second input's reader and padded planes")
    func memoryPlan() throws {
        let size = Size3(x: 256, y: 256, z: 64)
        let values = [Float](repeating: 0, count: 1)
        let single = try Pipeline(reader: ArrayVolumeReader(size: size, values: values), stages: [GaussianStageForPlan.make()], options: PipelineOptions(slabSections: 4)).plan
        let paired = try Pipeline(
            reader: ArrayVolumeReader(size: size, values: values), second: ArrayVolumeReader(size: size, values: values),
            stages: [PairedBoxSum(halo: SIMD3(2, 2, 2), boundary: .reflect, prepass: false)], options: PipelineOptions(slabSections: 4)).plan
        #expect(paired.parts.contains { $0.name == "second reader" })
        // Two rings of 4 + 4 padded planes of 260² (and a zero plane each) at least.
        let pairsum = paired.parts.first { $0.name == "pairsum" }!.bytes
        #expect(pairsum >= 2 * 9 * 260 * 260 * 4, "\(pairsum)")
        #expect(paired.bytes > single.bytes)
    }
}
