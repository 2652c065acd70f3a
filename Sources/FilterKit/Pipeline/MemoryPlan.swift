/// How a chain will run: output sections per step and what each node holds, within a budget.
///
/// Like VTK's memory-limited streamer, the planner asks every node for its estimate and picks
/// the thickest slab whose total fits; a chain that cannot fit even one section fails before
/// any voxel is read, saying how much it needs. What the rest of the chain leaves of the budget
/// goes to the whole-volume stages (an exact FFT filter), which choose how to run in it.
///
/// When not even one whole section fits and every stage can work on part of a section
/// (``StreamingStage/supportsBricks``), the plan is made of **bricks** instead: X-Y rectangles of
/// the output, each streamed through the chain over every section (its nodes hold that
/// rectangle grown by the halos, not whole sections): the thickest band of whole rows that
/// fits, or for sections too wide for that the largest square.
public struct MemoryPlan: Sendable, CustomStringConvertible {
    /// Output sections per step (the writer's slab; in brick mode, per step of one brick).
    public let slabSections: Int
    /// The X-Y size of the output's bricks, or nil for slabs of whole sections.
    public let brick: SIMD2<Int>?
    /// Why the plan is made of bricks (for `--verbose`), when it is.
    public let brickReason: String?
    /// Sections each node provides per request: `[reader, stage 1, …, stage n]`.
    public let requests: [Int]
    /// Estimated bytes per part, for messages.
    public let parts: [(name: String, bytes: Int)]
    /// How each whole-volume stage runs (nil for the other stages), by stage index.
    public let reservations: [WholeVolumeReservation?]
    /// Estimated total bytes.
    public var bytes: Int { parts.reduce(0) { $0 + $1.bytes } }

    public var description: String {
        let unit = brick.map { "bricks of \($0.x)×\($0.y) voxels, \(slabSections) section\(slabSections == 1 ? "" : "s") per step" }
            ?? "slabs of \(slabSections) section\(slabSections == 1 ? "" : "s")"
        return unit + ", ~\(ByteCount(bytes)) (" + parts.map { "\($0.name) \(ByteCount($0.bytes))" }.joined(separator: ", ") + ")"
            + (brickReason.map { ": \($0)" } ?? "")
    }

    init(slabSections: Int, requests: [Int], parts: [(name: String, bytes: Int)], reservations: [WholeVolumeReservation?], brick: SIMD2<Int>? = nil, brickReason: String? = nil) {
        self.slabSections = slabSections
        self.requests = requests
        self.parts = parts
        self.reservations = reservations
        self.brick = brick
        self.brickReason = brickReason
    }

    /// Memory the process needs beyond the plan: the Swift runtime, libraries, stacks. The
    /// libraries alone are 28 MiB resident (`stdio-filter info`, session 16); the rest covers
    /// thread stacks and small buffers no plan counts (a Gaussian of σ 2 on bricks planned at
    /// 225.5 MiB peaked at 257.5 MiB: 32 MiB more).
    public static let runtimeOverhead = 32 << 20

    /// Slabs stop growing once a slab is this large: I/O is already efficient, and caches like it.
    static let slabTargetBytes = 16 << 20
    /// The same for a chain without stages (a copy): no compute to amortise, so a section or
    /// 4 MiB per step, and `convert` stays small.
    static let copySlabTargetBytes = 4 << 20

    /// Plans `stages` over `infos` (`infos[0]` is the input, `infos[i + 1]` stage `i`'s output).
    ///
    /// - Parameters:
    ///   - slabSections: a fixed slab thickness, or nil to choose the thickest that fits.
    ///   - readAhead: sections the reader thread reads ahead per chunk, or nil for no reader thread.
    ///
    /// When nothing fits, stages that can work in less memory (``StreamingStage/reduceMemory()``) are
    /// asked to, one change at a time, before the chain is refused.
    ///   - brick: a fixed brick size (`--brick`), or nil to use bricks only when whole sections do not fit.
    static func make(
        stages: [any Stage], infos: [VolumeInfo], budget: Int, slabSections: Int?, readAhead: Int?, writerThread: Bool, secondInput: Bool = false,
        brick: SIMD2<Int>? = nil
    ) throws -> MemoryPlan {
        try make(
            kinds: StageKind.of(stages), infos: infos, budget: budget, slabSections: slabSections, readAhead: readAhead, writerThread: writerThread,
            secondInput: secondInput, brick: brick)
    }

    /// ``make(stages:infos:budget:slabSections:readAhead:writerThread:secondInput:brick:)`` for
    /// stages whose kinds are known.
    static func make(
        kinds: [StageKind], infos: [VolumeInfo], budget: Int, slabSections: Int?, readAhead: Int?, writerThread: Bool, secondInput: Bool = false,
        brick: SIMD2<Int>? = nil
    ) throws -> MemoryPlan {
        if let brick, let reason = brickRefusal(kinds: kinds, secondInput: secondInput) {
            throw FilterError.invalidParameter(name: "brick", value: "\(brick.x)x\(brick.y)", expected: "a chain that can work on bricks (\(reason))")
        }
        // Whole sections, then bricks, with the stages' own settings; only then do stages work in
        // less memory (s2s's smaller tiles are slower than bricks of its usual ones).
        while true {
            do {
                return try makeOnce(
                    kinds: kinds, infos: infos, budget: budget, slabSections: slabSections, readAhead: readAhead, writerThread: writerThread,
                    secondInput: secondInput, brick: brick)
            } catch FilterError.memoryBudget(let what, let needed, let budget) {
                var change: String?
                for case .streaming(let stage) in kinds where change == nil { change = stage.reduceMemory() }
                guard let change else { throw FilterError.memoryBudget(what: what, needed: needed, budget: budget) }
                Log.info(change)
            }
        }
    }

    /// One plan with the stages' current settings: `brick` when given, else whole sections, else
    /// the largest bricks that fit.
    private static func makeOnce(
        kinds: [StageKind], infos: [VolumeInfo], budget: Int, slabSections: Int?, readAhead: Int?, writerThread: Bool, secondInput: Bool,
        brick: SIMD2<Int>?
    ) throws -> MemoryPlan {
        // Every stage streams when the chain may run on bricks (brickRefusal is nil).
        let tiles = kinds.compactMap(\.streaming)
        if let brick {
            do {
                return try makeBricks(
                    tiles: tiles, infos: infos, budget: budget, slabSections: slabSections, readerThread: readAhead != nil, writerThread: writerThread,
                    sizes: [[brick]], reason: "--brick \(brick.x)x\(brick.y)")
            } catch FilterError.memoryBudget(let bricks, let needed, let budget) {
                throw FilterError.memoryBudget(what: "\(chainDescription(kinds: kinds, infos: infos)) \(bricks)", needed: needed, budget: budget)
            }
        }
        do {
            return try makeSlabs(kinds: kinds, infos: infos, budget: budget, slabSections: slabSections, readAhead: readAhead, writerThread: writerThread, secondInput: secondInput)
        } catch FilterError.memoryBudget(let what, let needed, let budget) {
            let out = infos.last!.size
            guard brickRefusal(kinds: kinds, secondInput: secondInput) == nil else {
                throw FilterError.memoryBudget(what: what, needed: needed, budget: budget)
            }
            // Bands of whole rows first: each of their sections is one run of the input and the
            // output files (one read, one write, no partly written pages), and they overlap their
            // neighbours only in Y. Then squares, for sections too wide for even a thin band.
            // Sides in multiples of what the stages work in (s2s's tiles).
            let alignment = tiles.map(\.brickAlignment).max() ?? 1
            let sides = [4096, 2048, 1024, 512, 256, 128, 64, 32, 16].map { ($0 + alignment - 1) / alignment * alignment }
            func distinct(_ sizes: [SIMD2<Int>]) -> [SIMD2<Int>] {
                sizes.reduce(into: []) { if $1 != SIMD2(out.x, out.y), !$0.contains($1) { $0.append($1) } }
            }
            let bands = distinct(sides.map { SIMD2(out.x, min($0, out.y)) })
            let squares = distinct(sides.map { SIMD2(min($0, out.x), min($0, out.y)) }).filter { !bands.contains($0) }
            guard !(bands + squares).isEmpty else { throw FilterError.memoryBudget(what: what, needed: needed, budget: budget) }
            do {
                return try makeBricks(
                    tiles: tiles, infos: infos, budget: budget, slabSections: slabSections, readerThread: readAhead != nil, writerThread: writerThread,
                    sizes: [bands, squares],
                    reason: "whole sections need ~\(ByteCount(needed)), more than --memory \(ByteCount(budget))")
            } catch FilterError.memoryBudget(let bricks, let bricksNeed, _) {
                // Not even the smallest brick fits: say what either way needs, and the least.
                throw FilterError.memoryBudget(what: "\(what), or \(bricks)", needed: min(needed, bricksNeed), budget: budget)
            }
        }
    }

    /// `the chain a,b on X×Y×Z voxels` (or `copying …`), for messages.
    static func chainDescription(kinds: [StageKind], infos: [VolumeInfo]) -> String {
        (kinds.isEmpty ? "copying" : "the chain " + kinds.map(\.stage.name).joined(separator: ",")) + " on \(infos[0].size) voxels"
    }

    /// Why this chain cannot run on bricks, or nil when it can.
    static func brickRefusal(kinds: [StageKind], secondInput: Bool) -> String? {
        if secondInput { return "a stage reading two inputs works on whole sections" }
        for (i, kind) in kinds.enumerated() {
            guard case .streaming(let tile) = kind else { return "\(kind.stage.name) needs the whole volume" }
            guard tile.supportsBricks else { return "\(tile.name) works on whole sections only" }
            if i > 0, kind.prepassCount > 0 {
                return "\(tile.name) measures its input first: with bricks it must come first in the chain"
            }
        }
        return nil
    }

    /// The brick plan: from the first group of `sizes` in which any fits (bands of whole rows,
    /// then squares), the largest brick that fits with at least ``preferredBrickSlab`` sections
    /// per step, else the largest with fewer; each with the thickest slab that fits. (Measured
    /// on 4096² sections, a Gaussian of σ 2, 32 sections: bands of 4096×512 one section per
    /// step 11.6 s, 4096×256 four per step 10.1 s, 4096×128 eight 9.2 s, 4096×32 thirty-two
    /// 12.9 s; squares of 1024² four per step 13.1 s.)
    private static func makeBricks(
        tiles: [any StreamingStage], infos: [VolumeInfo], budget: Int, slabSections: Int?, readerThread: Bool, writerThread: Bool,
        sizes groups: [[SIMD2<Int>]], reason: String
    ) throws -> MemoryPlan {
        precondition(groups.contains { !$0.isEmpty }, "brick sizes to try")
        let out = infos.last!.size
        var smallest: MemoryPlan?
        for sizes in groups {
            var thin: MemoryPlan?
            for size in sizes {
                let brick = SIMD2(max(1, min(size.x, out.x)), max(1, min(size.y, out.y)))
                let brickSectionBytes = brick.x * brick.y * 4
                let largest = min(out.z, max(1, slabTargetBytes / brickSectionBytes), 64)
                let candidates = slabSections.map { [min($0, out.z)] } ?? Array((1...largest).reversed())
                for t in candidates {
                    let plan = brickLayout(
                        tiles: tiles, infos: infos, slab: t, brick: brick, readerThread: readerThread, writerThread: writerThread, reason: reason)
                    smallest = plan
                    guard plan.bytes + runtimeOverhead <= budget else { continue }
                    if slabSections != nil || t >= min(preferredBrickSlab, out.z) { return plan }
                    if thin == nil { thin = plan }
                    break
                }
            }
            if let thin { return thin }
        }
        throw FilterError.memoryBudget(what: "on bricks (\(smallest!))", needed: smallest!.bytes + runtimeOverhead, budget: budget)
    }

    /// Sections per step a brick plan prefers to a larger brick: a thin step recomputes the
    /// halo along Z of every stage for few output sections.
    static let preferredBrickSlab = 4

    /// Each node's rectangle for the output brick `rect`: `[reader, stage 1, …, stage n]`.
    static func brickRects(tiles: [any StreamingStage], infos: [VolumeInfo], requests: [Int], output rect: PlaneRect) -> [PlaneRect] {
        var rects = [PlaneRect](repeating: rect, count: tiles.count + 1)
        for i in stride(from: tiles.count - 1, through: 0, by: -1) {
            let stage = tiles[i]
            let box = StageSource.shape(stage: stage, output: infos[i + 1].size, input: infos[i].size, chunk: requests[i + 1], rect: rects[i + 1]).box
            rects[i] = PlaneRect.source(of: box, mode: stage.boundary, in: infos[i].size)
        }
        return rects
    }

    /// The output's bricks of `size`, row by row.
    public static func bricks(of volume: Size3, size: SIMD2<Int>) -> [PlaneRect] {
        stride(from: 0, to: volume.y, by: size.y).flatMap { y in
            stride(from: 0, to: volume.x, by: size.x).map { x in
                PlaneRect(x: x..<min(volume.x, x + size.x), y: y..<min(volume.y, y + size.y))
            }
        }
    }

    /// The bricks whose nodes can differ in size: the first two and last two of each row and
    /// column (at the faces, next to them, the ragged last) and one inside; every other brick's
    /// rectangles have the size of an inner one.
    static func representativeBricks(of volume: Size3, size: SIMD2<Int>) -> [PlaneRect] {
        let (columns, rows) = ((volume.x + size.x - 1) / size.x, (volume.y + size.y - 1) / size.y)
        func picks(_ n: Int) -> [Int] { Array(Set([0, 1, n / 2, n - 2, n - 1].filter { $0 >= 0 && $0 < n })).sorted() }
        return picks(rows).flatMap { j in
            picks(columns).map { i in
                PlaneRect(x: (i * size.x)..<min(volume.x, (i + 1) * size.x), y: (j * size.y)..<min(volume.y, (j + 1) * size.y))
            }
        }
    }

    /// Sections of a brick's input read ahead per chunk: those of one step (the reader's window
    /// moves by about a slab), at most the window.
    static func brickReadAhead(requests: [Int], slab: Int) -> Int { max(1, min(requests[0], slab)) }

    /// The memory of a brick plan: the largest over the bricks of each node's window, ring and
    /// scratch at its rectangle, the reader thread's two chunks, the prepass's one whole
    /// section, the writer thread's two slabs of a brick and the writer's row chunk.
    static func brickLayout(
        tiles: [any StreamingStage], infos: [VolumeInfo], slab: Int, brick: SIMD2<Int>, readerThread: Bool, writerThread: Bool,
        reason: String
    ) -> MemoryPlan {
        let requests = upstreamRequests(kinds: tiles.map(StageKind.streaming), infos: infos, slab: slab)
        let readAhead = readerThread && !tiles.isEmpty ? brickReadAhead(requests: requests, slab: slab) : nil
        var worst = [Int](repeating: 0, count: tiles.count + 1)
        for rect in representativeBricks(of: infos.last!.size, size: brick) {
            let rects = brickRects(tiles: tiles, infos: infos, requests: requests, output: rect)
            worst[0] = max(worst[0], ReaderSource.bytes(info: infos[0], rect: rects[0], capacity: requests[0], readAhead: readAhead))
            for (i, stage) in tiles.enumerated() {
                worst[i + 1] = max(worst[i + 1], StageSource.bytes(stage: stage, info: infos[i + 1], input: infos[i].size, rect: rects[i + 1], capacity: requests[i + 1], chunk: requests[i + 1]))
            }
        }
        var parts: [(name: String, bytes: Int)] = [("reader", worst[0])]
        for (i, stage) in tiles.enumerated() { parts.append((stage.name, worst[i + 1])) }
        if let first = tiles.first as? PrepassStage, first.prepassCount > 0 {
            parts.append(("\(first.name) prepass (one whole section)", ReaderSource.bytes(info: infos[0], capacity: 1, readAhead: nil)))
        }
        if writerThread { parts.append(("writer thread (two slabs of a brick)", 2 * slab * brick.x * brick.y * 4)) }
        parts.append(("writer (rows in order)", Pipeline.assemblyChunkBytes + min(Pipeline.assemblyChunkBytes, MRCWriter.encodeChunkBytes)))
        return MemoryPlan(slabSections: slab, requests: requests, parts: parts, reservations: Array(repeating: nil, count: tiles.count), brick: brick, brickReason: reason)
    }

    /// The thickest slab of whole sections that fits, with what it leaves to whole-volume stages.
    private static func makeSlabs(
        kinds: [StageKind], infos: [VolumeInfo], budget: Int, slabSections: Int?, readAhead: Int?, writerThread: Bool, secondInput: Bool
    ) throws -> MemoryPlan {
        let out = infos.last!
        let outSectionBytes = out.size.sectionVoxels * 4
        let target = kinds.isEmpty ? copySlabTargetBytes : slabTargetBytes
        let largest = min(out.size.z, max(1, target / max(1, outSectionBytes)), 64)
        let candidates = slabSections.map { [min($0, out.size.z)] } ?? Array((1...largest).reversed())
        var smallest: MemoryPlan?
        let wholeVolume: [(index: Int, stage: any WholeVolumeStage)] = kinds.enumerated().compactMap { i, kind in
            if case .wholeVolume(let stage) = kind { return (i, stage) }
            return nil
        }
        for t in candidates {
            let plan = layout(kinds: kinds, infos: infos, slab: t, readAhead: readAhead, writerThread: writerThread, secondInput: secondInput)
            smallest = plan
            let available = budget - plan.bytes - runtimeOverhead
            guard available >= 0 else { continue }
            if wholeVolume.isEmpty { return plan }
            // The rest of the budget, shared evenly between the whole-volume stages.
            var reservations = plan.reservations
            var parts = plan.parts
            for (i, stage) in wholeVolume {
                guard let r = stage.reserve(for: infos[i], available: available / wholeVolume.count) else { break }
                reservations[i] = r
                parts.insert(("\(stage.name) (\(r.mode))", r.bytes), at: parts.count - 1)
            }
            if wholeVolume.allSatisfy({ reservations[$0.index] != nil }) {
                return MemoryPlan(slabSections: plan.slabSections, requests: plan.requests, parts: parts, reservations: reservations)
            }
        }
        var plan = smallest!
        var parts = plan.parts
        for (i, stage) in wholeVolume {
            parts.insert(("\(stage.name) at least", stage.minimumBytes(for: infos[i])), at: parts.count - 1)
        }
        plan = MemoryPlan(slabSections: plan.slabSections, requests: plan.requests, parts: parts, reservations: plan.reservations)
        throw FilterError.memoryBudget(
            what: "\(chainDescription(kinds: kinds, infos: infos)) (\(plan))", needed: plan.bytes + runtimeOverhead, budget: budget)
    }

    /// The sections each source is asked for at a time (index 0: the reader; `kinds.count`: the
    /// last stage, asked by the writer for `slab`): a streaming stage asks upstream for what its
    /// halo and scale need for what it is asked, a whole-volume stage for as much.
    static func upstreamRequests(kinds: [StageKind], infos: [VolumeInfo], slab: Int) -> [Int] {
        var requests = [Int](repeating: 0, count: kinds.count + 1)
        requests[kinds.count] = slab
        for i in stride(from: kinds.count - 1, through: 0, by: -1) {
            switch kinds[i] {
            case .streaming(let stage):
                requests[i] = StageSource.shape(stage: stage, output: infos[i + 1].size, input: infos[i].size, chunk: requests[i + 1]).upstreamRequest
            case .wholeVolume:
                requests[i] = requests[i + 1]
            }
        }
        return requests
    }

    /// The requests and memory of every node for output slabs of `slab` sections.
    ///   - secondInput: whether the first stage reads a second input of the input's geometry.
    static func layout(kinds: [StageKind], infos: [VolumeInfo], slab: Int, readAhead: Int?, writerThread: Bool, secondInput: Bool = false) -> MemoryPlan {
        let requests = upstreamRequests(kinds: kinds, infos: infos, slab: slab)
        var parts: [(String, Int)] = kinds.enumerated().map { i, kind in
            let chunk = requests[i + 1]
            switch kind {
            case .streaming(let stage):
                return (stage.name, StageSource.bytes(stage: stage, info: infos[i + 1], input: infos[i].size, capacity: chunk, chunk: chunk))
            case .wholeVolume(let stage):
                return (stage.name, WholeVolumeSource.bytes(info: infos[i + 1], capacity: chunk, chunk: chunk))
            }
        }
        parts.insert(("reader", ReaderSource.bytes(info: infos[0], capacity: requests[0], readAhead: readAhead)), at: 0)
        if secondInput {
            parts.insert(("second reader", ReaderSource.bytes(info: infos[0], capacity: requests[0], readAhead: readAhead)), at: 1)
        }
        let outSectionBytes = infos.last!.size.sectionVoxels * 4
        let writer = (writerThread ? 2 * slab * outSectionBytes : 0) + min(slab * outSectionBytes, MRCWriter.encodeChunkBytes)
        parts.append(("writer", writer))
        return MemoryPlan(slabSections: slab, requests: requests, parts: parts, reservations: Array(repeating: nil, count: kinds.count))
    }
}
