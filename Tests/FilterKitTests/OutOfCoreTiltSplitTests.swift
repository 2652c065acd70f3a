import FilterKit
import Foundation
import Testing
import Tomography

@Suite("s2s on a back-projection larger than memory: the split and filter out of core")
struct OutOfCoreTiltSplitTests {
    /// Runs the stage over `volume` as the pipeline would (sections fed `chunk` at a time) in
    /// `available` bytes; returns the output and the mode it ran in.
    static func run(_ volume: [Float], size: Size3, available: Int, chunk: Int) throws -> (output: [Float], mode: String) {
        let stage = TiltSplitDenoiser(split: TiltSplit(angles: .given(try TiltAngles(degrees: BackProjectionSplitTests.degrees)), maxResidual: 0.5))
        let info = VolumeInfo(size: size, elementType: .float32)
        let reservation = try #require(stage.reserve(for: info, available: available))
        try stage.begin(input: info, reservation: reservation)
        defer { stage.end() }
        try volume.withUnsafeBufferPointer { v in
            for z in stride(from: 0, to: size.z, by: chunk) {
                try stage.absorb(v.baseAddress! + z * size.sectionVoxels, from: z, count: min(chunk, size.z - z))
            }
        }
        try stage.finishInput()
        var output = [Float](repeating: .nan, count: size.voxelCount)
        try output.withUnsafeMutableBufferPointer { o in
            for z in stride(from: 0, to: size.z, by: 5) {
                let sections = z..<min(size.z, z + 5)
                try stage.emit(sections, into: o.baseAddress! + z * size.sectionVoxels)
            }
        }
        return (output, reservation.mode)
    }

    @Test("equals the in-memory result, in bands and blocks, whichever axis the tilt runs along", arguments: [BackProjectionSplit.Axis.y, .x])
    func equalsInMemory(axis: BackProjectionSplit.Axis) throws {
        let size = axis == .y ? Size3(x: 64, y: 24, z: 40) : Size3(x: 24, y: 64, z: 40)
        var volume = BackProjectionSplitTests.backProjection(size: size, degrees: BackProjectionSplitTests.degrees, axis: axis, seed: 5).volume
        // A smooth blob both halves share, so that the gains are not all 0 (the fit leaves a
        // few per cent of it: allowed).
        for z in 0..<size.z {
            for y in 0..<size.y {
                for x in 0..<size.x {
                    let r2 = Double((x - size.x / 2) * (x - size.x / 2) + (y - size.y / 2) * (y - size.y / 2) + (z - size.z / 2) * (z - size.z / 2))
                    volume[(z * size.y + y) * size.x + x] += Float(3 * exp(-r2 / 50))
                }
            }
        }
        let inMemory = try Self.run(volume, size: size, available: 1 << 30, chunk: size.z)
        #expect(inMemory.mode.contains("in memory"))
        // The least the out-of-core scheme runs in: several bands of planes and blocks of frequencies.
        let stage = TiltSplitDenoiser(split: TiltSplit(angles: .detected))
        let least = stage.minimumBytes(for: VolumeInfo(size: size, elementType: .float32))
        let outOfCore = try Self.run(volume, size: size, available: least, chunk: 3)
        #expect(outOfCore.mode.contains("out of core"))
        var difference = 0.0, norm = 0.0
        for i in volume.indices {
            difference += Double(outOfCore.output[i] - inMemory.output[i]) * Double(outOfCore.output[i] - inMemory.output[i])
            norm += Double(inMemory.output[i]) * Double(inMemory.output[i])
        }
        #expect(norm > 0.01 * volume.reduce(0) { $0 + Double($1) * Double($1) }, "the filter kept something")
        #expect((difference / norm).squareRoot() < 1e-5, "relative difference \((difference / norm).squareRoot())")
    }

    @Test("sample planes gathered from streamed sections equal those of the volume in memory")
    func samplesFromSections() throws {
        let size = Size3(x: 40, y: 36, z: 12)
        let volume = (0..<size.voxelCount).map { Float($0 % 977) }
        var streamed = PlaneSamples(size: size)
        volume.withUnsafeBufferPointer { v in
            for z in stride(from: 0, to: size.z, by: 5) { streamed.absorb(v.baseAddress! + z * size.sectionVoxels, from: z, count: min(5, size.z - z)) }
        }
        let whole = volume.withUnsafeBufferPointer { PlaneSamples(volume: $0.baseAddress!, size: size) }
        for axis in BackProjectionSplit.Axis.allCases {
            let count = PlaneSamples.count(axis, size: size)
            for p in PlaneSamples.indices(count: count, wanted: PlaneSamples.detectorPlanes) + PlaneSamples.indices(count: count, wanted: PlaneSamples.fitPlanes) {
                #expect(streamed.plane(p, axis: axis) == whole.plane(p, axis: axis))
            }
        }
        // Plane p across Y is row p of every section; across X, column p.
        let (py, px) = (PlaneSamples.indices(count: size.y, wanted: PlaneSamples.fitPlanes)[3], PlaneSamples.indices(count: size.x, wanted: PlaneSamples.fitPlanes)[3])
        let row = whole.plane(py, axis: .y), column = whole.plane(px, axis: .x)
        #expect(row[3 * size.x + 5] == volume[(3 * size.y + py) * size.x + 5])
        #expect(column[3 * size.y + 5] == volume[(3 * size.y + 5) * size.x + px])
    }
}
