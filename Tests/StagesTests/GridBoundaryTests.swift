import Foundation
import Testing
@testable import FilterKit

/// A stage on a fixed grid of 16-section rows seen with 4 sections of context, as s2s works: near
/// the end of a volume its input box reaches further past the face than it starts before it, so
/// reflect padding stands for sections before the box. Each output voxel is the sum of its
/// column over the row's whole padded box, so every plane of it counts.
final class GridColumnSumStage: StreamingStage {
    let name = "grid-sum"
    static let (tile, halo) = (16, 4)
    var boundary: BoundaryMode { .reflect }
    func outputInfo(for input: VolumeInfo) throws -> VolumeInfo { input }

    func inputBox(forOutput output: Box) -> Box {
        let t = Self.tile, h = Self.halo
        let z0 = output.origin.z / t * t, z1 = (output.origin.z + output.size.z + t - 1) / t * t
        return Box(origin: SIMD3(output.origin.x, output.origin.y, z0 - h), size: Size3(x: output.size.x, y: output.size.y, z: z1 - z0 + 2 * h))
    }

    func maximumInputSections(forOutputSections count: Int) -> Int? { ((count + Self.tile - 2) / Self.tile + 1) * Self.tile + 2 * Self.halo }

    func process(_ input: InputRegion, into output: OutputRegion) throws {
        let n = input.planeVoxels, t = Self.tile, h = Self.halo
        for k in 0..<output.box.size.z {
            let z = output.box.origin.z + k, row = z / t
            let first = row * t - h - input.box.origin.z
            let out = output.data + k * n
            out.update(repeating: 0, count: n)
            for p in first..<(first + t + 2 * h) {
                let plane = input.plane(p)
                for i in 0..<n { out[i] += plane[i] }
            }
        }
    }
}

@Suite("padding past the end of a grid stage's box")
struct GridBoundaryTests {
    static let size = Size3(x: 5, y: 4, z: 40)
    static let values: [Float] = (0..<size.voxelCount).map { Float(($0 * 7919) % 101) }

    /// The column sums computed directly from reflect-padded values.
    static func expected(_ sections: Range<Int>) -> [Float] {
        let (t, h) = (GridColumnSumStage.tile, GridColumnSumStage.halo)
        var out: [Float] = []
        for z in sections {
            let row = z / t
            for y in 0..<size.y {
                for x in 0..<size.x {
                    var sum: Float = 0
                    for vz in (row * t - h)..<(row * t + t + h) { sum += Float(padded(values, size, .reflect, x, y, vz)) }
                    out.append(sum)
                }
            }
        }
        return out
    }

    @Test("whole runs (any slab) and parts starting in the last row see the sections the padding stands for",
          arguments: [nil, 0..<40, 32..<40, 33..<40, 39..<40, 30..<36])
    func mirroredSections(_ sections: Range<Int>?) throws {
        for slab in [1, 3, 40] {
            let out = try runChain([GridColumnSumStage()], size: Self.size, values: Self.values, slab: slab, sections: sections).1
            #expect(out == Self.expected(sections ?? 0..<Self.size.z), "slab \(slab), sections \(String(describing: sections))")
        }
    }
}
