/// A pipeline node: computes the sections of one tile stage's output from its upstream's sections.
///
/// The node keeps a ring of *padded input planes* keyed by input section: each input section is
/// fetched from upstream once, padded in X and Y once (the framework does boundary padding, so
/// stages never see an edge), and shared by every tile whose halo reaches it. Past the Z faces a
/// tile's plane is the mirrored (or nearest, or wrapped) plane itself, not a copy.
final class StageSource: SectionSource {
    let stage: any TileStage
    let upstream: SectionSource
    let info: VolumeInfo
    /// Output sections computed per ``Stage/process(_:into:)`` call.
    let chunk: Int
    /// Input sections asked of upstream per request.
    let upstreamRequest: Int
    private let cache: SectionCache
    // The padded input planes.
    private let planeBox: (x0: Int, y0: Int, width: Int, height: Int)
    private let ringCapacity: Int
    private let ring: UnsafeMutablePointer<Float>
    private var ringRange: Range<Int> = 0..<0
    private let zeroPlane: UnsafeMutablePointer<Float>
    private let planePointers: UnsafeMutablePointer<UnsafePointer<Float>>
    private let planePointerCapacity: Int
    /// Padded planes from the far end of the volume, for a periodic boundary along Z.
    private var islands: [Int: UnsafeMutablePointer<Float>] = [:]

    /// - Parameters:
    ///   - capacity: output sections the window holds (the largest downstream request).
    ///   - chunk: output sections per `process` call.
    init(stage: any TileStage, upstream: SectionSource, info: VolumeInfo, capacity: Int, chunk: Int) throws {
        self.stage = stage
        self.upstream = upstream
        self.info = info
        self.chunk = max(1, chunk)
        cache = SectionCache(sectionVoxels: info.size.sectionVoxels, capacity: max(capacity, self.chunk))
        let shape = StageSource.shape(stage: stage, output: info.size, input: upstream.info.size, chunk: self.chunk)
        planeBox = (shape.box.origin.x, shape.box.origin.y, shape.box.size.x, shape.box.size.y)
        ringCapacity = shape.ringSections
        upstreamRequest = shape.upstreamRequest
        let planeVoxels = shape.box.size.x * shape.box.size.y
        ring = .allocate(capacity: ringCapacity * planeVoxels)
        zeroPlane = .allocate(capacity: planeVoxels)
        zeroPlane.initialize(repeating: 0, count: planeVoxels)
        planePointerCapacity = shape.box.size.z
        planePointers = .allocate(capacity: planePointerCapacity)
        try loadIslandsIfNeeded()
    }

    deinit {
        ring.deallocate()
        zeroPlane.deallocate()
        planePointers.deallocate()
        islands.values.forEach { $0.deallocate() }
    }

    /// The input box of one chunk, the input sections a chunk spans (the ring's size), and the
    /// input sections a steady-state chunk adds (what upstream is asked for at a time).
    static func shape(stage: any TileStage, output: Size3, input: Size3, chunk: Int) -> (box: Box, ringSections: Int, upstreamRequest: Int) {
        var first = stage.inputBox(forOutput: Box(sections: 0..<chunk, of: output))
        let second = stage.inputBox(forOutput: Box(sections: chunk..<(2 * chunk), of: output))
        let advance = (second.origin.z + second.size.z) - (first.origin.z + first.size.z)
        if let most = stage.maximumInputSections(forOutputSections: chunk) { first.size.z = max(first.size.z, most) }
        let ring = min(first.size.z, input.z)
        return (first, max(1, ring), max(1, min(advance, ring)))
    }

    /// Memory one node needs: its output window, its ring of padded planes, and the stage's scratch.
    static func bytes(stage: any TileStage, info: VolumeInfo, input: Size3, capacity: Int, chunk: Int) -> Int {
        let (box, ring, _) = shape(stage: stage, output: info.size, input: input, chunk: chunk)
        let plane = box.size.x * box.size.y * 4
        return SectionCache.bytes(sectionVoxels: info.size.sectionVoxels, capacity: max(capacity, chunk))
            + (ring + 1) * plane
            + stage.scratchBytes(forOutput: Box(sections: 0..<chunk, of: info.size))
    }

    func provide(_ range: Range<Int>) throws {
        precondition(range.lowerBound >= cache.range.lowerBound, "\(stage.name): requests must move forward")
        cache.drop(below: range.lowerBound)
        var next = cache.range.upperBound
        while next < range.upperBound {
            let count = min(chunk, range.upperBound - next)
            let outBox = Box(sections: next..<(next + count), of: info.size)
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
            try fillRing(for: inBox.range(2))
            let n = upstream.info.size.z
            let mode = stage.boundary
            for (k, vz) in inBox.range(2).enumerated() {
                if let z = mode.map(vz, count: n) {
                    if (vz < 0 || vz >= n), let island = islands[z] {
                        planePointers[k] = UnsafePointer(island)
                    } else {
                        planePointers[k] = UnsafePointer(ringPlane(z))
                    }
                } else {
                    planePointers[k] = UnsafePointer(zeroPlane)
                }
            }
            try stage.process(Tile(box: inBox, planes: planePointers), into: MutableTile(box: outBox, data: output))
        } catch let error as FilterError {
            if case .stage = error { throw error }
            throw FilterError.stage(name: stage.name, region: "\(outBox)", message: "\(error)")
        } catch {
            throw FilterError.stage(name: stage.name, region: "\(outBox)", message: "\(error)")
        }
    }

    @inline(__always)
    private func ringPlane(_ z: Int) -> UnsafeMutablePointer<Float> {
        ring + (z % ringCapacity) * planeBox.width * planeBox.height
    }

    /// Makes the ring hold every input section that virtual sections `virtual` map to.
    private func fillRing(for virtual: Range<Int>) throws {
        let n = upstream.info.size.z
        var lower = min(max(0, virtual.lowerBound), n)
        var upper = max(min(n, virtual.upperBound), lower)
        // Sections past a face stand for sections inside, which can lie outside the box's own
        // range: a box reaching 12 past the end of a volume whose last 12 sections it holds needs
        // the one before them in reflect mode (s2s rounds boxes up to whole tiles). Periodic
        // padding comes from the islands read at the start.
        let mode = stage.boundary
        if mode != .periodic {
            for vz in virtual where vz < 0 || vz >= n {
                guard let z = mode.map(vz, count: n) else { continue }
                lower = min(lower, z)
                upper = max(upper, z + 1)
            }
        }
        // Drop what is no longer needed; restart if the new window does not overlap.
        if lower >= ringRange.upperBound || lower < ringRange.lowerBound {
            ringRange = lower..<lower
        } else {
            ringRange = lower..<ringRange.upperBound
        }
        var next = ringRange.upperBound
        while next < upper {
            let count = min(upstreamRequest, upper - next)
            try upstream.provide(next..<(next + count))
            for z in next..<(next + count) {
                pad(upstream.section(z), into: ringPlane(z))
            }
            next += count
            ringRange = ringRange.lowerBound..<next
        }
    }

    /// Copies the plane's XY box out of a whole input section, padding past the X and Y faces.
    private func pad(_ section: UnsafePointer<Float>, into plane: UnsafeMutablePointer<Float>) {
        let input = upstream.info.size
        let mode = stage.boundary
        let (x0, y0, width, height) = planeBox
        let inner = max(0, x0)..<min(input.x, x0 + width)
        var out = plane
        for vy in y0..<(y0 + height) {
            guard let y = mode.map(vy, count: input.y) else {
                out.initialize(repeating: 0, count: width)
                out += width
                continue
            }
            let row = section + y * input.x
            if !inner.isEmpty {
                (out + (inner.lowerBound - x0)).update(from: row + inner.lowerBound, count: inner.count)
            }
            var vx = x0
            while vx < x0 + width {
                if !inner.isEmpty && vx == inner.lowerBound {
                    vx = inner.upperBound
                    continue
                }
                out[vx - x0] = mode.map(vx, count: input.x).map { row[$0] } ?? 0
                vx += 1
            }
            out += width
        }
    }

    /// A periodic boundary along Z needs sections from the far end of the volume: read them once,
    /// up front, from a random-access reader.
    private func loadIslandsIfNeeded() throws {
        guard stage.boundary == .periodic else { return }
        let n = upstream.info.size.z
        let head = stage.inputBox(forOutput: Box(sections: 0..<1, of: info.size))
        let tail = stage.inputBox(forOutput: Box(sections: (info.size.z - 1)..<info.size.z, of: info.size))
        var needed = Set<Int>()
        for v in head.origin.z..<0 { needed.insert(BoundaryMode.periodic.map(v, count: n)!) }
        for v in n..<max(n, tail.origin.z + tail.size.z) { needed.insert(BoundaryMode.periodic.map(v, count: n)!) }
        guard !needed.isEmpty else { return }
        guard let reader = upstream as? ReaderSource, reader.reader.supportsRandomAccess else {
            throw FilterError.unsupported(
                source: stage.name, what: "boundary=periodic along Z needs sections from the far end of the input",
                hint: "put this stage first in the chain and read a file (not a pipe), or use another boundary")
        }
        let section = UnsafeMutablePointer<Float>.allocate(capacity: upstream.info.size.sectionVoxels)
        defer { section.deallocate() }
        for z in needed {
            try reader.readIsland(z, into: section)
            let plane = UnsafeMutablePointer<Float>.allocate(capacity: planeBox.width * planeBox.height)
            pad(section, into: plane)
            islands[z] = plane
        }
    }
}
