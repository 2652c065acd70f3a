/// A pipeline node around a ``WholeVolumeStage``: on the first request it drains its upstream
/// into the stage, then serves the stage's output sections through a window.
final class WholeVolumeSource: SectionSource {
    let stage: any WholeVolumeStage
    let upstream: SectionSource
    let info: VolumeInfo
    /// Whole sections: a whole-volume stage runs in slab mode only.
    var rect: PlaneRect { .whole(info.size) }
    /// Input sections asked of upstream per request, and output sections per ``WholeVolumeStage/emit(_:into:)``.
    let chunk: Int
    private let reservation: WholeVolumeReservation
    private let cache: SectionCache
    private var absorbed = false
    private let progress: ((Int) -> Void)?

    /// - Parameters:
    ///   - capacity: output sections the window holds (the largest downstream request).
    ///   - progress: told the input sections absorbed so far.
    init(stage: any WholeVolumeStage, upstream: SectionSource, info: VolumeInfo, reservation: WholeVolumeReservation,
         capacity: Int, chunk: Int, progress: ((Int) -> Void)? = nil) {
        self.stage = stage
        self.upstream = upstream
        self.info = info
        self.reservation = reservation
        self.chunk = max(1, chunk)
        self.progress = progress
        cache = SectionCache(sectionVoxels: info.size.sectionVoxels, capacity: max(capacity, self.chunk))
    }

    deinit { stage.end() }

    /// Memory the node holds besides the stage's reservation: its output window.
    static func bytes(info: VolumeInfo, capacity: Int, chunk: Int) -> Int {
        SectionCache.bytes(sectionVoxels: info.size.sectionVoxels, capacity: max(capacity, chunk))
    }

    func provide(_ range: Range<Int>) throws {
        precondition(range.lowerBound >= cache.range.lowerBound, "\(stage.name): requests must move forward")
        try absorbInputOnce()
        cache.drop(below: range.lowerBound)
        var next = cache.range.upperBound
        while next < range.upperBound {
            let count = min(chunk, range.upperBound - next)
            try wrap("sections \(next)..<\(next + count)") {
                try stage.emit(next..<(next + count), into: cache.appendPointer(count: count))
            }
            cache.commit(count)
            next += count
        }
    }

    func section(_ z: Int) -> UnsafePointer<Float> { UnsafePointer(cache.section(z)) }

    private func absorbInputOnce() throws {
        guard !absorbed else { return }
        absorbed = true
        try wrap("setup") { try stage.begin(input: upstream.info, reservation: reservation) }
        let n = upstream.info.size.z
        var z = 0
        while z < n {
            let count = min(chunk, n - z)
            try upstream.provide(z..<(z + count))
            try wrap("input sections \(z)..<\(z + count)") { try stage.absorb(upstream.section(z), from: z, count: count) }
            z += count
            progress?(z)
        }
        try wrap("whole volume (\(reservation.mode))") { try stage.finishInput() }
    }

    private func wrap(_ region: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            stage.end()
            throw FilterError.stage(stage.name, at: region, error)
        }
    }
}
