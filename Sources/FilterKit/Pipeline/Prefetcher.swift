/// Reads a volume's sections in order on a background thread, a chunk ahead of the consumer.
///
/// Two chunk buffers circulate between the reader thread and the consumer, so memory stays at
/// two chunks and the reader blocks when the consumer falls behind.
final class Prefetcher: @unchecked Sendable {
    private struct Chunk {
        var sections: Range<Int>
        var buffer: SendablePointer
    }

    private enum Item {
        case chunk(Chunk)
        case failure(Error)
    }

    private let sectionVoxels: Int
    private let full = BlockingQueue<Item>(capacity: 2)
    private let free = BlockingQueue<SendablePointer>(capacity: 2)
    private var current: Chunk?
    private let buffers: SharedBuffers

    static func bytes(sectionBytes: Int, sectionsPerChunk: Int) -> Int { 2 * sectionBytes * max(1, sectionsPerChunk) }

    init(reader: VolumeReader, sectionsPerChunk: Int) {
        sectionVoxels = reader.info.size.sectionVoxels
        let k = max(1, sectionsPerChunk)
        let buffers = SharedBuffers(count: 2, capacity: k * sectionVoxels)
        self.buffers = buffers
        for pointer in buffers.pointers { self.free.push(SendablePointer(pointer: pointer)) }
        let nz = reader.info.size.z
        let readerBox = UncheckedReader(reader: reader)
        let (full, free) = (self.full, self.free)
        startThread {
            // The thread may be mid-read when the prefetcher goes away: it keeps the buffers alive.
            defer { withExtendedLifetime(buffers) {} }
            var z = 0
            while z < nz {
                guard let buffer = free.pop() else { return }
                let count = min(k, nz - z)
                do {
                    try readerBox.reader.readSections(z..<(z + count), into: buffer.pointer)
                } catch {
                    full.push(.failure(error))
                    return
                }
                guard full.push(.chunk(Chunk(sections: z..<(z + count), buffer: buffer))) else { return }
                z += count
            }
        }
    }

    deinit { stop() }

    /// Stops the reader thread (it finishes the read in progress, then exits).
    func stop() {
        free.close()
        full.close()
    }

    /// Copies sections `range` (not before the previous call's end) into `destination`.
    func copy(sections range: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        var z = range.lowerBound
        while z < range.upperBound {
            if current == nil || current!.sections.upperBound <= z {
                if let done = current { free.push(done.buffer) }
                current = nil
                guard let item = full.pop() else {
                    throw FilterError.truncated(source: "reader", offset: Int64(z), expected: "section \(z) was never read")
                }
                switch item {
                case let .chunk(chunk): current = chunk
                case let .failure(error): throw error
                }
                continue
            }
            let chunk = current!
            precondition(z >= chunk.sections.lowerBound, "prefetched sections are consumed in order")
            let count = min(range.upperBound, chunk.sections.upperBound) - z
            (destination + (z - range.lowerBound) * sectionVoxels)
                .update(from: chunk.buffer.pointer + (z - chunk.sections.lowerBound) * sectionVoxels, count: count * sectionVoxels)
            z += count
        }
    }
}

/// Lets the reader thread use a reader the consumer no longer touches.
private struct UncheckedReader: @unchecked Sendable {
    let reader: VolumeReader
}
