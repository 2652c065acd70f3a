/// The first node of a pipeline: sections from a ``VolumeReader``, optionally read ahead by a
/// background thread so that reading overlaps computing.
final class ReaderSource: SectionSource {
    let reader: VolumeReader
    var info: VolumeInfo { reader.info }
    private let cache: SectionCache
    /// Sections read ahead on another thread (sequential passes from section 0 only).
    private var prefetcher: Prefetcher?

    init(reader: VolumeReader, capacity: Int, readAhead: Int?) {
        self.reader = reader
        cache = SectionCache(sectionVoxels: reader.info.size.sectionVoxels, capacity: capacity)
        if let readAhead, readAhead > 0 {
            prefetcher = Prefetcher(reader: reader, sectionsPerChunk: readAhead)
        }
    }

    deinit { prefetcher?.stop() }

    static func bytes(info: VolumeInfo, capacity: Int, readAhead: Int?) -> Int {
        let section = info.size.sectionVoxels * 4
        let rawScratch = info.elementType == .float32 ? 0 : section * max(1, readAhead ?? capacity)
        return SectionCache.bytes(sectionVoxels: info.size.sectionVoxels, capacity: capacity)
            + (readAhead.map { Prefetcher.bytes(sectionBytes: section, sectionsPerChunk: $0) } ?? 0)
            + rawScratch  // the reader's conversion scratch, at most one read
    }

    func provide(_ range: Range<Int>) throws {
        precondition(range.lowerBound >= cache.range.lowerBound, "reader requests move forward")
        cache.drop(below: range.lowerBound)
        var next = cache.range.upperBound
        while next < range.upperBound {
            let count = range.upperBound - next
            let destination = cache.appendPointer(count: count)
            if let prefetcher {
                try prefetcher.copy(sections: next..<range.upperBound, into: destination)
            } else {
                try reader.readSections(next..<range.upperBound, into: destination)
            }
            cache.commit(count)
            next += count
        }
    }

    func section(_ z: Int) -> UnsafePointer<Float> { UnsafePointer(cache.section(z)) }

    /// Reads sections directly (random-access readers), bypassing the window: for the few
    /// sections a periodic boundary needs from the far end of the volume.
    func readIsland(_ z: Int, into destination: UnsafeMutablePointer<Float>) throws {
        try reader.readSections(z..<(z + 1), into: destination)
    }
}
