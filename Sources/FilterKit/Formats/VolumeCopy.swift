/// Copies every voxel from a reader to a writer in chunks of rows, within a memory budget.
public enum VolumeCopy {
    /// Bytes of `Float` rows moved per step: large enough for fast I/O, small enough for the cache
    /// and the budget (the reader's and writer's scratch are at most the same size again).
    static func chunkBytes(memoryBudget: Int) -> Int {
        min(max(memoryBudget / 8, 1 << 20), 4 << 20)
    }

    /// Copies all rows of `reader` into `writer`.
    public static func copy(from reader: VolumeReader, to writer: MRCWriter, memoryBudget: Int) throws {
        let size = reader.info.size
        let totalRows = size.y * size.z
        let rowsPerChunk = max(1, min(totalRows, chunkBytes(memoryBudget: memoryBudget) / max(1, size.x * 4)))
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerChunk * size.x)
        defer { buffer.deallocate() }
        var row = 0
        while row < totalRows {
            let count = min(rowsPerChunk, totalRows - row)
            try reader.readRows(from: row, count: count, into: buffer)
            try writer.writeRows(count, from: buffer)
            row += count
        }
    }
}
