/// The padded input planes of one upstream of a ``StageSource``, keyed by input section.
///
/// Each input section is fetched from upstream once, padded in X and Y once (the framework does
/// boundary padding, so stages never see an edge), and shared by every tile whose halo reaches
/// it. Past the Z faces a tile's plane is the mirrored (or nearest, or wrapped) plane itself, not
/// a copy. A stage reading two inputs in lockstep has one ring per input, with the same geometry.
final class PaddedPlaneRing {
    let upstream: SectionSource
    let mode: BoundaryMode
    /// The stage's name, for messages.
    let stageName: String
    /// The XY rectangle of every plane, in input coordinates (may reach past the faces).
    let planeBox: (x0: Int, y0: Int, width: Int, height: Int)
    /// Input sections asked of upstream per request.
    let upstreamRequest: Int
    private let capacity: Int
    private let ring: UnsafeMutablePointer<Float>
    private var held: Range<Int> = 0..<0
    private let zeroPlane: UnsafeMutablePointer<Float>
    /// Padded planes from the far end of the volume, for a periodic boundary along Z.
    private var islands: [Int: UnsafeMutablePointer<Float>] = [:]

    init(upstream: SectionSource, mode: BoundaryMode, stageName: String, box: Box, sections: Int, upstreamRequest: Int) {
        self.upstream = upstream
        self.mode = mode
        self.stageName = stageName
        planeBox = (box.origin.x, box.origin.y, box.size.x, box.size.y)
        capacity = sections
        self.upstreamRequest = upstreamRequest
        let planeVoxels = box.size.x * box.size.y
        ring = .allocate(capacity: capacity * planeVoxels)
        zeroPlane = .allocate(capacity: planeVoxels)
        zeroPlane.initialize(repeating: 0, count: planeVoxels)
    }

    deinit {
        ring.deallocate()
        zeroPlane.deallocate()
        islands.values.forEach { $0.deallocate() }
    }

    /// Bytes of a ring of `sections` planes of `box`'s XY size (and its zero plane).
    static func bytes(box: Box, sections: Int) -> Int { (sections + 1) * box.size.x * box.size.y * 4 }

    /// Fetches and pads what virtual sections `virtual` need, then points `planes[k]` at the plane
    /// standing for section `virtual.lowerBound + k`.
    func planes(_ virtual: Range<Int>, into planes: UnsafeMutablePointer<UnsafePointer<Float>>) throws {
        try fill(for: virtual)
        let n = upstream.info.size.z
        for (k, vz) in virtual.enumerated() {
            if let z = mode.map(vz, count: n) {
                if vz < 0 || vz >= n, let island = islands[z] {
                    planes[k] = UnsafePointer(island)
                } else {
                    planes[k] = UnsafePointer(ringPlane(z))
                }
            } else {
                planes[k] = UnsafePointer(zeroPlane)
            }
        }
    }

    @inline(__always)
    private func ringPlane(_ z: Int) -> UnsafeMutablePointer<Float> {
        ring + (z % capacity) * planeBox.width * planeBox.height
    }

    /// Makes the ring hold every input section that virtual sections `virtual` map to.
    private func fill(for virtual: Range<Int>) throws {
        let n = upstream.info.size.z
        var lower = min(max(0, virtual.lowerBound), n)
        var upper = max(min(n, virtual.upperBound), lower)
        // Sections past a face stand for sections inside, which can lie outside the box's own
        // range: a box reaching 12 past the end of a volume whose last 12 sections it holds needs
        // the one before them in reflect mode (s2s rounds boxes up to whole tiles). Periodic
        // padding comes from the islands read at the start.
        if mode != .periodic {
            for vz in virtual where vz < 0 || vz >= n {
                guard let z = mode.map(vz, count: n) else { continue }
                lower = min(lower, z)
                upper = max(upper, z + 1)
            }
        }
        // Drop what is no longer needed; restart if the new window does not overlap.
        if lower >= held.upperBound || lower < held.lowerBound {
            held = lower..<lower
        } else {
            held = lower..<held.upperBound
        }
        var next = held.upperBound
        while next < upper {
            let count = min(upstreamRequest, upper - next)
            try upstream.provide(next..<(next + count))
            for z in next..<(next + count) {
                pad(upstream.section(z), into: ringPlane(z))
            }
            next += count
            held = held.lowerBound..<next
        }
    }

    /// Copies the plane's XY box out of an input section (upstream's rectangle of it: the whole
    /// section in slab mode), padding past the X and Y faces.
    private func pad(_ section: UnsafePointer<Float>, into plane: UnsafeMutablePointer<Float>) {
        let input = upstream.info.size
        let source = upstream.rect
        let (x0, y0, width, height) = planeBox
        let inner = max(0, x0)..<min(input.x, x0 + width)
        var out = plane
        for vy in y0..<(y0 + height) {
            guard let y = mode.map(vy, count: input.y) else {
                out.initialize(repeating: 0, count: width)
                out += width
                continue
            }
            precondition(source.y.contains(y), "\(stageName): row \(y) outside the rectangle read, \(source)")
            // `row[x - source.x.lowerBound]` is voxel x of the row.
            let row = section + (y - source.y.lowerBound) * source.width
            let sx0 = source.x.lowerBound
            if !inner.isEmpty {
                precondition(inner.lowerBound >= sx0 && inner.upperBound <= source.x.upperBound, "\(stageName): columns \(inner) outside the rectangle read, \(source)")
                (out + (inner.lowerBound - x0)).update(from: row + (inner.lowerBound - sx0), count: inner.count)
            }
            var vx = x0
            while vx < x0 + width {
                if !inner.isEmpty && vx == inner.lowerBound {
                    vx = inner.upperBound
                    continue
                }
                out[vx - x0] = mode.map(vx, count: input.x).map { row[$0 - sx0] } ?? 0
                vx += 1
            }
            out += width
        }
    }

    /// A periodic boundary along Z needs sections from the far end of the volume: reads
    /// `sections` once, up front, from a random-access reader.
    func loadIslands(_ sections: Set<Int>) throws {
        guard !sections.isEmpty else { return }
        guard let reader = upstream as? ReaderSource, reader.reader.supportsRandomAccess else {
            throw FilterError.unsupported(
                source: stageName, what: "boundary=periodic along Z needs sections from the far end of the input",
                hint: "put this stage first in the chain and read a file (not a pipe), or use another boundary")
        }
        let section = UnsafeMutablePointer<Float>.allocate(capacity: upstream.rect.voxels)
        defer { section.deallocate() }
        for z in sections {
            try reader.readIsland(z, into: section)
            let plane = UnsafeMutablePointer<Float>.allocate(capacity: planeBox.width * planeBox.height)
            pad(section, into: plane)
            islands[z] = plane
        }
    }
}
