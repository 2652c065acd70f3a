extension MRCWriter {
    /// Bytes copied before the copy goes to its own thread (the probe that it works at all).
    static let firstCopyBytes: Int64 = 8 << 20
    /// Rows of floats read at a time for the statistics: small enough to stay in the cache.
    static let statisticsChunkBytes = 256 << 10

    /// Writes the data block of `reader` as it is stored, when nothing changes it: the same type
    /// (not float16, whose writer clamps infinities), little-endian, from a file into a file.
    /// The bytes move inside the kernel (`copy_file_range`, on a thread of its own) while this
    /// thread reads the values for the exact statistics, so the result equals rows written in
    /// order to the last bit. Returns false, having written nothing, when the copy does not
    /// apply; the caller then writes rows as usual.
    ///
    /// - Parameter progress: called with the sections whose statistics are done.
    public func copySamples(of reader: MRCReader, progress: (Int) -> Void = { _ in }) throws -> Bool {
        guard rowsWritten == 0, reader.info.size == info.size, reader.info.elementType == elementType,
            [.float32, .int16, .uint16, .int8, .uint8].contains(elementType),
            let stored = reader.storedSamples, stored.bytes == Int64(info.size.voxelCount) * Int64(elementType.bitsPerVoxel / 8)
        else { return false }
        let first = min(stored.bytes, MRCWriter.firstCopyBytes)
        guard try target.copyBytes(from: stored.source, at: stored.offset, count: first, to: dataOffset) else { return false }
        let rest = UncheckedCopy(target: target, source: stored.source, from: stored.offset + first, count: stored.bytes - first, to: dataOffset + first)
        let done = BlockingQueue<Error?>(capacity: 1)
        startThread {
            do {
                _ = try rest.target.copyBytes(from: rest.source, at: rest.from, count: rest.count, to: rest.to)
                done.push(nil)
            } catch {
                done.push(error)
            }
        }
        // The copy thread must end before this returns, whatever happens here.
        var statisticsError: Error?
        do {
            try readStatistics(of: reader, progress: progress)
        } catch {
            statisticsError = error
        }
        if let copyError = done.pop() ?? nil { throw copyError }
        if let statisticsError { throw statisticsError }
        rowsWritten = totalRows
        return true
    }

    /// The statistics of every value of `reader`, read in order.
    private func readStatistics(of reader: MRCReader, progress: (Int) -> Void) throws {
        let (nx, ny) = (info.size.x, info.size.y)
        let rowsPerChunk = max(1, MRCWriter.statisticsChunkBytes / (nx * 4))
        try statistics.addInChunks(total: totalRows * nx, chunk: rowsPerChunk * nx) { first, count, rows in
            let row = first / nx
            try reader.readRows(from: row, count: count / nx, into: rows)
            let end = row + count / nx
            if end / ny > row / ny { progress(end / ny) }
        }
    }
}

private struct UncheckedCopy: @unchecked Sendable {
    let target: OutputTarget
    let source: InputSource
    let from: Int64
    let count: Int64
    let to: Int64
}
