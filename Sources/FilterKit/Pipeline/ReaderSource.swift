/// The first node of a pipeline: sections from a ``VolumeReader``, optionally read ahead by a
/// background thread so that reading overlaps computing.
final class ReaderSource: SectionSource {
    let reader: VolumeReader
    var info: VolumeInfo { reader.info }
    let rect: PlaneRect
    private let cache: SectionCache
    /// Sections read ahead on another thread (sequential passes from the first section asked for).
    private var prefetcher: Prefetcher?

    /// - Parameter rect: the part of every section read (a brick's, from a random-access
    ///   reader), or nil for whole sections.
    init(reader: VolumeReader, rect: PlaneRect? = nil, capacity: Int, readAhead: Int?) {
        self.reader = reader
        self.rect = rect ?? .whole(reader.info.size)
        precondition(rect == nil || reader.supportsRandomAccess, "bricks are read from random-access readers")
        cache = SectionCache(sectionVoxels: self.rect.voxels, capacity: capacity)
        if let readAhead, readAhead > 0 {
            prefetcher = Prefetcher(reader: reader, rect: rect, sectionsPerChunk: readAhead)
        }
    }

    deinit { prefetcher?.stop() }

    static func bytes(info: VolumeInfo, rect: PlaneRect? = nil, capacity: Int, readAhead: Int?) -> Int {
        let voxels = rect?.voxels ?? info.size.sectionVoxels
        let section = voxels * 4
        // Whole rows of up to about 1 MiB when a rectangle is read through rows.
        let rawScratch = rect != nil ? (1 << 20) : info.elementType == .float32 ? 0 : section * max(1, readAhead ?? capacity)
        return SectionCache.bytes(sectionVoxels: voxels, capacity: capacity)
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
            } else if !rect.isWhole(of: info.size) {
                for k in 0..<count {
                    try reader.readRectangle(rect, section: next + k, into: destination + k * rect.voxels)
                }
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
        try reader.readRectangle(rect, section: z, into: destination)
    }
}
