/// A pipeline node: computes the sections of one streaming stage's output from its upstream's sections.
///
/// The node keeps a ring of *padded input planes* per input (``PaddedPlaneRing``): each input
/// section is fetched from upstream once, padded once and shared by every tile whose halo
/// reaches it. A ``PairedInputStage`` reads its second input through a second ring of the same
/// geometry, in lockstep with the first.
final class StageSource: SectionSource {
    let stage: any StreamingStage
    let info: VolumeInfo
    /// The part of every output section computed (whole sections in slab mode, a brick's
    /// rectangle in brick mode).
    let rect: PlaneRect
    /// Output sections computed per ``Stage/process(_:into:)`` call.
    let chunk: Int
    private let cache: SectionCache
    /// The input's padded planes, and the second input's for a paired stage.
    private let rings: [PaddedPlaneRing]
    private let planePointers: UnsafeMutablePointer<UnsafePointer<Float>>
    private let planePointerCapacity: Int

    /// - Parameters:
    ///   - second: the second input of a ``PairedInputStage`` (same geometry as `upstream`).
    ///   - capacity: output sections the window holds (the largest downstream request).
    ///   - chunk: output sections per `process` call.
    ///   - rect: the part of every output section computed, or nil for whole sections. Upstream
    ///     must hold what its input boxes read (``PlaneRect/source(of:mode:in:)`` of ``shape``'s box).
    init(stage: any StreamingStage, upstream: SectionSource, second: SectionSource? = nil, info: VolumeInfo, rect: PlaneRect? = nil, capacity: Int, chunk: Int) throws {
        precondition((second != nil) == ((stage as? PairedInputStage)?.takesSecondInput ?? false), "\(stage.name): a second input exactly when the stage takes one")
        self.stage = stage
        self.info = info
        self.chunk = max(1, chunk)
        let rect = rect ?? .whole(info.size)
        self.rect = rect
        cache = SectionCache(sectionVoxels: rect.voxels, capacity: max(capacity, self.chunk))
        let shape = StageSource.shape(stage: stage, output: info.size, input: upstream.info.size, chunk: self.chunk, rect: rect)
        rings = ([upstream] + (second.map { [$0] } ?? [])).map {
            PaddedPlaneRing(upstream: $0, mode: stage.boundary, stageName: stage.name, box: shape.box, sections: shape.ringSections, upstreamRequest: shape.upstreamRequest)
        }
        planePointerCapacity = shape.box.size.z
        planePointers = .allocate(capacity: rings.count * planePointerCapacity)
        try loadIslandsIfNeeded(input: upstream.info.size)
    }

    deinit { planePointers.deallocate() }

    /// The input box of one chunk, the input sections a chunk spans (the ring's size), and the
    /// input sections a steady-state chunk adds (what upstream is asked for at a time).
    /// `rect` is the part of every output section computed (nil: whole sections).
    static func shape(stage: any StreamingStage, output: Size3, input: Size3, chunk: Int, rect: PlaneRect? = nil) -> (box: Box, ringSections: Int, upstreamRequest: Int) {
        let rect = rect ?? .whole(output)
        var first = stage.inputBox(forOutput: rect.box(sections: 0..<chunk))
        let second = stage.inputBox(forOutput: rect.box(sections: chunk..<(2 * chunk)))
        let advance = (second.origin.z + second.size.z) - (first.origin.z + first.size.z)
        if let most = stage.maximumInputSections(forOutputSections: chunk) { first.size.z = max(first.size.z, most) }
        let ring = min(first.size.z, input.z)
        return (first, max(1, ring), max(1, min(advance, ring)))
    }

    /// Memory one node needs: its output window, its ring of padded planes, and the stage's scratch.
    static func bytes(stage: any StreamingStage, info: VolumeInfo, input: Size3, rect: PlaneRect? = nil, capacity: Int, chunk: Int) -> Int {
        let rect = rect ?? .whole(info.size)
        let (box, ring, _) = shape(stage: stage, output: info.size, input: input, chunk: chunk, rect: rect)
        let inputs = (stage as? PairedInputStage)?.takesSecondInput == true ? 2 : 1
        return SectionCache.bytes(sectionVoxels: rect.voxels, capacity: max(capacity, chunk))
            + inputs * PaddedPlaneRing.bytes(box: box, sections: ring)
            + stage.scratchBytes(forOutput: rect.box(sections: 0..<chunk))
    }

    func provide(_ range: Range<Int>) throws {
        precondition(range.lowerBound >= cache.range.lowerBound, "\(stage.name): requests must move forward")
        cache.drop(below: range.lowerBound)
        var next = cache.range.upperBound
        while next < range.upperBound {
            let count = min(chunk, range.upperBound - next)
            let outBox = rect.box(sections: next..<(next + count))
            try compute(outBox, into: cache.appendPointer(count: count))
            cache.commit(count)
            next += count
        }
    }

    func section(_ z: Int) -> UnsafePointer<Float> { UnsafePointer(cache.section(z)) }

    private func compute(_ outBox: Box, into output: UnsafeMutablePointer<Float>) throws {
        let inBox = stage.inputBox(forOutput: outBox)
        do {
            precondition(inBox.size.z <= planePointerCapacity, "\(stage.name): input tile larger than planned")
            for (r, ring) in rings.enumerated() {
                try ring.planes(inBox.range(2), into: planePointers + r * planePointerCapacity)
            }
            let tile = InputRegion(box: inBox, planes: planePointers), out = OutputRegion(box: outBox, data: output)
            if rings.count == 2, let paired = stage as? PairedInputStage {
                try paired.process(tile, second: InputRegion(box: inBox, planes: planePointers + planePointerCapacity), into: out)
            } else {
                try stage.process(tile, into: out)
            }
        } catch {
            throw FilterError.stage(stage.name, at: "\(outBox)", error)
        }
    }

    /// A periodic boundary along Z needs sections from the far end of the volume: read them once,
    /// up front, from a random-access reader.
    private func loadIslandsIfNeeded(input: Size3) throws {
        guard stage.boundary == .periodic else { return }
        let n = input.z
        let head = stage.inputBox(forOutput: rect.box(sections: 0..<1))
        let tail = stage.inputBox(forOutput: rect.box(sections: (info.size.z - 1)..<info.size.z))
        var needed = Set<Int>()
        for v in head.origin.z..<0 { needed.insert(BoundaryMode.periodic.map(v, count: n)!) }
        for v in n..<max(n, tail.origin.z + tail.size.z) { needed.insert(BoundaryMode.periodic.map(v, count: n)!) }
        for ring in rings { try ring.loadIslands(needed) }
    }
}
