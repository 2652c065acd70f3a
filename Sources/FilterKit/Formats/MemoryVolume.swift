/// A volume held in memory, read like a file (random access): for chains run on data a stage
/// computed itself.
public final class MemoryVolumeReader: VolumeReader {
    public let info: VolumeInfo
    public let sourceName: String
    public let warnings: [String] = []
    public var supportsRandomAccess: Bool { true }
    private let values: [Float]

    /// `values` holds `info.size.voxelCount` floats, X fastest.
    public init(_ values: [Float], info: VolumeInfo, name: String) {
        precondition(values.count == info.size.voxelCount, "\(name): \(info.size.voxelCount) values expected, got \(values.count)")
        self.values = values
        self.info = info
        sourceName = name
    }

    public func readRows(from firstRow: Int, count: Int, into destination: UnsafeMutablePointer<Float>) throws {
        let nx = info.size.x
        precondition(firstRow >= 0 && count >= 0 && firstRow + count <= info.size.y * info.size.z, "rows out of range")
        values.withUnsafeBufferPointer { destination.update(from: $0.baseAddress! + firstRow * nx, count: count * nx) }
    }
}

/// Collects a chain's float32 output in memory.
public final class MemoryVolumeWriter: VolumeWriter {
    public let warnings: [String] = []
    public var clampedCount: Int { 0 }
    /// The rows written so far (the whole volume once finished).
    public private(set) var values: [Float] = []
    private let expected: Int
    /// Voxels per row.
    private let rowLength: Int

    public init(info: VolumeInfo) {
        expected = info.size.voxelCount
        rowLength = info.size.x
        values.reserveCapacity(expected)
    }

    public func writeRows(_ count: Int, from values: UnsafeMutablePointer<Float>) throws {
        precondition(self.values.count + count * rowLength <= expected, "more rows than the volume has")
        self.values.append(contentsOf: UnsafeBufferPointer(start: values, count: count * rowLength))
    }

    public func finish() throws {
        guard values.count == expected else {
            throw FilterError.truncated(source: "memory", offset: Int64(values.count), expected: "\(expected) voxels")
        }
    }

    public func abort() { values = [] }
}
