/// Writes slabs on a background thread: the compute thread hands over a copy and continues.
///
/// Two slab buffers circulate, so the compute thread blocks when the writer falls behind, and
/// the first write error stops both sides. A slab is `count` sections of one rectangle (whole
/// sections in slab mode, a brick's in brick mode), which `write` puts in place.
final class SlabWriter: @unchecked Sendable {
    /// What one buffer holds: `count` sections from `firstSection`, each `rect.voxels` values.
    struct Slab: Sendable {
        var rect: PlaneRect
        var firstSection: Int
        var count: Int
    }

    /// Writes a slab's values (on the writer thread).
    typealias Write = (_ values: UnsafeMutablePointer<Float>, _ slab: Slab) throws -> Void

    private let free = BlockingQueue<SendablePointer>(capacity: 2)
    private let full = BlockingQueue<(SendablePointer, Slab)>(capacity: 2)
    private let finished = BlockingQueue<Error?>(capacity: 1)
    private let buffers: SharedBuffers
    private let capacity: Int

    static func bytes(sectionBytes: Int, sectionsPerSlab: Int) -> Int { 3 * sectionBytes * max(1, sectionsPerSlab) }

    /// - Parameters:
    ///   - sectionVoxels: the largest section (or rectangle) handed over.
    ///   - write: called on the writer thread for each slab, in order.
    init(sectionVoxels: Int, sectionsPerSlab: Int, write: @escaping Write) {
        capacity = max(1, sectionsPerSlab) * sectionVoxels
        let buffers = SharedBuffers(count: 2, capacity: capacity)
        self.buffers = buffers
        for pointer in buffers.pointers { self.free.push(SendablePointer(pointer: pointer)) }
        let (free, full, finished) = (self.free, self.full, self.finished)
        let target = UncheckedWrite(write: write)
        startThread {
            // The thread may be mid-write when the writer goes away: it keeps the buffers alive.
            defer { withExtendedLifetime(buffers) {} }
            while let (buffer, slab) = full.pop() {
                do {
                    try target.write(buffer.pointer, slab)
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

    /// Whole sections, written as rows in order to `writer`.
    convenience init(writer: any VolumeWriter, info: VolumeInfo, sectionsPerSlab: Int) {
        let rows = info.size.y
        let target = UncheckedWriter(writer: writer)
        self.init(sectionVoxels: info.size.sectionVoxels, sectionsPerSlab: sectionsPerSlab) { values, slab in
            try target.writer.writeRows(slab.count * rows, from: values)
        }
    }

    deinit { cancel() }

    /// Hands over `count` sections of `rect` starting at `z` (copied; the source may change after).
    func write(sections: (Int) -> UnsafePointer<Float>, from z: Int, count: Int, rect: PlaneRect) throws {
        precondition(count * rect.voxels <= capacity, "a slab larger than the writer's buffers")
        guard let buffer = free.pop() else { throw finishedError() }
        for k in 0..<count {
            (buffer.pointer + k * rect.voxels).update(from: sections(z + k), count: rect.voxels)
        }
        guard full.push((buffer, Slab(rect: rect, firstSection: z, count: count))) else { throw finishedError() }
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

private struct UncheckedWrite: @unchecked Sendable {
    let write: SlabWriter.Write
}
