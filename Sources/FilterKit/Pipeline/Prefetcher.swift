/// Reads a volume's sections (or one rectangle of each: a brick's) in order on a background
/// thread, a chunk ahead of the consumer.
///
/// Two chunk buffers circulate between the reader thread and the consumer, so memory stays at
/// two chunks and the reader blocks when the consumer falls behind. The thread starts at the
/// first section asked for (``copy(sections:into:)``), so nothing else reads from the reader
/// while the nodes are set up (a periodic boundary reads its far sections then).
final class Prefetcher: @unchecked Sendable {
    private struct Chunk {
        var sections: Range<Int>
        var buffer: SendablePointer
    }

    private enum Item {
        case chunk(Chunk)
        case failure(Error)
    }

    private let full = BlockingQueue<Item>(capacity: 2)
    private let free = BlockingQueue<SendablePointer>(capacity: 2)
    private var current: Chunk?
    private let buffers: SharedBuffers
    private let reader: UncheckedReader
    private let rect: PlaneRect
    private let sectionsPerChunk: Int
    private var started = false
    /// Pushed once by the reader thread as it ends: ``stop()`` waits for it on a random-access
    /// reader, so that the reader (whose conversion scratch is not shared safely) has one user
    /// at a time. Not on a pipe, whose read may wait for a writer that waits for us.
    private let ended = BlockingQueue<Void>(capacity: 1)

    static func bytes(sectionBytes: Int, sectionsPerChunk: Int) -> Int { 2 * sectionBytes * max(1, sectionsPerChunk) }

    /// - Parameter rect: the part of every section read (a brick's, from a random-access
    ///   reader), or nil for whole sections.
    init(reader: VolumeReader, rect: PlaneRect? = nil, sectionsPerChunk: Int) {
        self.rect = rect ?? .whole(reader.info.size)
        self.sectionsPerChunk = max(1, sectionsPerChunk)
        buffers = SharedBuffers(count: 2, capacity: self.sectionsPerChunk * self.rect.voxels)
        for pointer in buffers.pointers { free.push(SendablePointer(pointer: pointer)) }
        self.reader = UncheckedReader(reader: reader)
    }

    /// Starts the reader thread at section `first`; it reads on to the last section.
    private func start(at first: Int) {
        started = true
        let (full, free, ended, buffers, readerBox, rect, k) = (self.full, self.free, self.ended, self.buffers, self.reader, self.rect, self.sectionsPerChunk)
        let nz = readerBox.reader.info.size.z
        let whole = rect.isWhole(of: readerBox.reader.info.size)
        startThread {
            // The thread may be mid-read when the prefetcher goes away: it keeps the buffers alive.
            defer {
                withExtendedLifetime(buffers) {}
                ended.push(())
            }
            var z = first
            while z < nz {
                guard let buffer = free.pop() else { return }
                let count = min(k, nz - z)
                do {
                    if whole {
                        try readerBox.reader.readSections(z..<(z + count), into: buffer.pointer)
                    } else {
                        for i in 0..<count {
                            try readerBox.reader.readRectangle(rect, section: z + i, into: buffer.pointer + i * rect.voxels)
                        }
                    }
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

    /// Stops the reader thread; from a random-access reader, waits for it to end (after the read
    /// in progress): the next brick's nodes, or a later pass, may use the same reader at once.
    func stop() {
        free.close()
        full.close()
        if started && reader.reader.supportsRandomAccess {
            started = false
            _ = ended.pop()
        }
    }

    /// Copies sections `range` (not before the previous call's end) into `destination`.
    func copy(sections range: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        if !started { start(at: range.lowerBound) }
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
            let voxels = rect.voxels
            (destination + (z - range.lowerBound) * voxels)
                .update(from: chunk.buffer.pointer + (z - chunk.sections.lowerBound) * voxels, count: count * voxels)
            z += count
        }
    }
}

/// Lets the reader thread use a reader the consumer no longer touches.
private struct UncheckedReader: @unchecked Sendable {
    let reader: VolumeReader
}
