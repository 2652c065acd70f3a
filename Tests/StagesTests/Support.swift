import Foundation
import Testing
@testable import FilterKit

/// A volume held in memory, read like a file (random access) or like a pipe (in order only).
final class ArrayVolumeReader: VolumeReader {
    let info: VolumeInfo
    let values: [Float]
    let sourceName = "array"
    let warnings: [String] = []
    let supportsRandomAccess: Bool
    private var nextRow = 0
    /// Rows read so far.
    private(set) var rowsRead = 0

    init(size: Size3, values: [Float], randomAccess: Bool = true, voxelSize: Float = 2) {
        info = VolumeInfo(size: size, elementType: .float32, voxelSize: SIMD3(repeating: voxelSize), origin: SIMD3(1, 2, 3))
        self.values = values
        supportsRandomAccess = randomAccess
    }

    func readRows(from firstRow: Int, count: Int, into destination: UnsafeMutablePointer<Float>) throws {
        rowsRead += count
        if !supportsRandomAccess {
            guard firstRow == nextRow else { throw FilterError.notSeekable(source: "array", operation: "row \(firstRow) after \(nextRow)") }
            nextRow += count
        }
        values.withUnsafeBufferPointer { destination.update(from: $0.baseAddress! + firstRow * info.size.x, count: count * info.size.x) }
    }
}

/// Deterministic pseudo-random values in [-1, 1).
func randomVolume(_ size: Size3, seed: UInt64 = 42) -> [Float] {
    var state = seed
    return (0..<size.voxelCount).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 23) - 1
    }
}

/// Runs `stages` over `values` with slabs of `slab` output sections and returns the output;
/// `second` is the second input of a paired first stage (its values, and whether it is a file).
func runChain(
    _ stages: [any Stage], size: Size3, values: [Float], second: (values: [Float], randomAccess: Bool)? = nil, slab: Int?,
    randomAccess: Bool = true, backgroundIO: Bool = true, memory: Int = 256 << 20, sections: Range<Int>? = nil, brick: SIMD2<Int>? = nil
) throws -> (VolumeInfo, [Float]) {
    let reader = ArrayVolumeReader(size: size, values: values, randomAccess: randomAccess)
    let pipeline = try Pipeline(
        reader: reader, second: second.map { ArrayVolumeReader(size: size, values: $0.values, randomAccess: $0.randomAccess) }, stages: stages,
        options: PipelineOptions(memoryBudget: memory, slabSections: slab, backgroundIO: backgroundIO, outputSections: sections, brick: brick))
    return try withTemporaryDirectory { dir in try write(pipeline, to: dir.appendingPathComponent("out.mrc").path) }
}

/// Runs `body` with a new empty directory, removed afterwards.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stages-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    return try body(dir)
}

/// Runs `pipeline` into an MRC file at `path` and reads the output back.
private func write(_ pipeline: Pipeline, to path: String) throws -> (VolumeInfo, [Float]) {
    var info = pipeline.writtenInfo
    info.elementType = .float32
    let writer = try MRCWriter(target: OutputTarget.create(path, protecting: []), info: info, operation: "test")
    try pipeline.run(writer: writer)
    try writer.finish()
    let back = try MRCReader(source: InputSource.open(path))
    var out = [Float](repeating: .nan, count: back.info.size.voxelCount)
    try out.withUnsafeMutableBufferPointer { try back.readSections(0..<back.info.size.z, into: $0.baseAddress!) }
    return (pipeline.outputInfo, out)
}

/// `values[x, y, z]` with out-of-volume indices mapped by `mode` (nil → 0).
func padded(_ values: [Float], _ size: Size3, _ mode: BoundaryMode, _ x: Int, _ y: Int, _ z: Int) -> Double {
    guard let mx = mode.map(x, count: size.x), let my = mode.map(y, count: size.y), let mz = mode.map(z, count: size.z) else { return 0 }
    return Double(values[(mz * size.y + my) * size.x + mx])
}

func maxAbs(_ values: [Float]) -> Float { values.map(abs).max() ?? 0 }
