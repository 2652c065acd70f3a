/// A window of consecutive whole sections `range`, stored contiguously.
final class SectionCache {
    let sectionVoxels: Int
    let capacity: Int
    private let storage: UnsafeMutablePointer<Float>
    /// The sections held.
    private(set) var range: Range<Int> = 0..<0

    init(sectionVoxels: Int, capacity: Int) {
        self.sectionVoxels = sectionVoxels
        self.capacity = max(1, capacity)
        storage = .allocate(capacity: self.capacity * sectionVoxels)
    }

    deinit { storage.deallocate() }

    /// Bytes this cache holds at most.
    static func bytes(sectionVoxels: Int, capacity: Int) -> Int { max(1, capacity) * sectionVoxels * 4 }

    /// The section `z`, which must be held.
    @inline(__always)
    func section(_ z: Int) -> UnsafeMutablePointer<Float> {
        precondition(range.contains(z), "section \(z) not in window \(range)")
        return storage + (z - range.lowerBound) * sectionVoxels
    }

    /// Forgets sections below `lower`, moving the ones kept to the front.
    func drop(below lower: Int) {
        if lower >= range.upperBound {
            range = lower..<lower
        } else if lower > range.lowerBound {
            let kept = range.upperBound - lower
            storage.update(from: storage + (lower - range.lowerBound) * sectionVoxels, count: kept * sectionVoxels)
            range = lower..<range.upperBound
        }
    }

    /// Room for the next `count` sections (after ``range``); call ``commit(_:)`` once filled.
    func appendPointer(count: Int) -> UnsafeMutablePointer<Float> {
        precondition(range.count + count <= capacity, "window of \(capacity) sections cannot take \(range.count)+\(count)")
        return storage + range.count * sectionVoxels
    }

    func commit(_ count: Int) { range = range.lowerBound..<(range.upperBound + count) }
}

/// Something that delivers sections of a volume on request: whole sections, or in brick mode the
/// same rectangle ``rect`` of every section.
///
/// Requests move forward: the lower bound of successive ``provide(_:)`` calls never decreases,
/// so a source can slide its window and read its own input once, in order.
protocol SectionSource: AnyObject {
    var info: VolumeInfo { get }
    /// The part of every section this source holds (the whole section in slab mode); a section's
    /// voxels are this rectangle's, X fastest.
    var rect: PlaneRect { get }
    /// Makes sections `range` (within `0..<info.size.z`) available through ``section(_:)``.
    func provide(_ range: Range<Int>) throws
    /// Section `z` of the last provided range; valid until the next ``provide(_:)``. The sections
    /// of one provided range are contiguous in memory, in order.
    func section(_ z: Int) -> UnsafePointer<Float>
}
