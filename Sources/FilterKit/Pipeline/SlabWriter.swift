/// Writes slabs on a background thread: the compute thread hands over a copy and continues.
///
/// Two slab buffers circulate, so the compute thread blocks when the writer falls behind, and
/// the first write error stops both sides.
final class SlabWriter: @unchecked Sendable {
    private let writer: any VolumeWriter
    private let rowsPerSection: Int
    private let sectionVoxels: Int
    private let free = BlockingQueue<SendablePointer>(capacity: 2)
    private let full = BlockingQueue<(SendablePointer, Int)>(capacity: 2)
    private let finished = BlockingQueue<Error?>(capacity: 1)
    private let buffers: SharedBuffers

    static func bytes(sectionBytes: Int, sectionsPerSlab: Int) -> Int { 3 * sectionBytes * max(1, sectionsPerSlab) }

    init(writer: any VolumeWriter, info: VolumeInfo, sectionsPerSlab: Int) {
        self.writer = writer
        rowsPerSection = info.size.y
        sectionVoxels = info.size.sectionVoxels
        let buffers = SharedBuffers(count: 2, capacity: max(1, sectionsPerSlab) * sectionVoxels)
        self.buffers = buffers
        for pointer in buffers.pointers { self.free.push(SendablePointer(pointer: pointer)) }
        let (free, full, finished) = (self.free, self.full, self.finished)
        let rows = rowsPerSection
        let target = UncheckedWriter(writer: writer)
        startThread {
            // The thread may be mid-write when the writer goes away: it keeps the buffers alive.
            defer { withExtendedLifetime(buffers) {} }
            while let (buffer, sections) = full.pop() {
                do {
                    try target.writer.writeRows(sections * rows, from: buffer.pointer)
                } catch {
                    free.close()
                    full.close()
                    finished.push(error)
                    return
                }
                free.push(buffer)
            }
            finished.push(nil)
        }
    }

    deinit { cancel() }

    /// Hands over `count` sections starting at `sections` (copied; the source may change after).
    func write(sections: (Int) -> UnsafePointer<Float>, from z: Int, count: Int) throws {
        guard let buffer = free.pop() else { throw finishedError() }
        for k in 0..<count {
            (buffer.pointer + k * sectionVoxels).update(from: sections(z + k), count: sectionVoxels)
        }
        guard full.push((buffer, count)) else { throw finishedError() }
    }

    /// Waits for the writer thread to write everything handed over.
    func finish() throws {
        full.close()
        if let error = finished.pop() ?? nil { throw error }
    }

    /// Stops the writer thread after a failure elsewhere.
    func cancel() {
        free.close()
        full.close()
    }

    private func finishedError() -> Error {
        (finished.pop() ?? nil) ?? FilterError.truncated(source: "writer", offset: 0, expected: "the writer stopped")
    }
}

private struct UncheckedWriter: @unchecked Sendable {
    let writer: any VolumeWriter
}
