/// How a chain will run: output sections per step and what each node holds, within a budget.
///
/// Like VTK's memory-limited streamer, the planner asks every node for its estimate and picks
/// the thickest slab whose total fits; a chain that cannot fit even one section fails before
/// any voxel is read, saying how much it needs. What the rest of the chain leaves of the budget
/// goes to the whole-volume stages (an exact FFT filter), which choose how to run in it.
public struct MemoryPlan: Sendable, CustomStringConvertible {
    /// Output sections per step (the writer's slab).
    public let slabSections: Int
    /// Sections each node provides per request: `[reader, stage 1, …, stage n]`.
    public let requests: [Int]
    /// Estimated bytes per part, for messages.
    public let parts: [(name: String, bytes: Int)]
    /// How each whole-volume stage runs (nil for the other stages), by stage index.
    public let reservations: [WholeVolumeReservation?]
    /// Estimated total bytes.
    public var bytes: Int { parts.reduce(0) { $0 + $1.bytes } }

    public var description: String {
        "slabs of \(slabSections) section\(slabSections == 1 ? "" : "s"), ~\(ByteCount(bytes)) (" + parts.map { "\($0.name) \(ByteCount($0.bytes))" }.joined(separator: ", ") + ")"
    }

    /// Memory the process needs beyond the plan: the Swift runtime, libraries, stacks.
    public static let runtimeOverhead = 24 << 20

    /// Slabs stop growing once a slab is this large: I/O is already efficient, and caches like it.
    static let slabTargetBytes = 16 << 20

    /// Plans `stages` over `infos` (`infos[0]` is the input, `infos[i + 1]` stage `i`'s output).
    ///
    /// - Parameters:
    ///   - slabSections: a fixed slab thickness, or nil to choose the thickest that fits.
    ///   - readAhead: sections the reader thread reads ahead per chunk, or nil for no reader thread.
    ///
    /// When nothing fits, stages that can work in less memory (``TileStage/reduceMemory()``) are
    /// asked to, one change at a time, before the chain is refused.
    static func make(
        stages: [any Stage], infos: [VolumeInfo], budget: Int, slabSections: Int?, readAhead: Int?, writerThread: Bool, secondInput: Bool = false
    ) throws -> MemoryPlan {
        while true {
            do {
                return try makeOnce(
                    stages: stages, infos: infos, budget: budget, slabSections: slabSections, readAhead: readAhead, writerThread: writerThread, secondInput: secondInput)
            } catch FilterError.memoryBudget(let what, let needed, let budget) {
                var change: String?
                for case let stage as TileStage in stages where change == nil { change = stage.reduceMemory() }
                guard let change else { throw FilterError.memoryBudget(what: what, needed: needed, budget: budget) }
                Log.info(change)
            }
        }
    }

    private static func makeOnce(
        stages: [any Stage], infos: [VolumeInfo], budget: Int, slabSections: Int?, readAhead: Int?, writerThread: Bool, secondInput: Bool
    ) throws -> MemoryPlan {
        let out = infos.last!
        let outSectionBytes = out.size.sectionVoxels * 4
        let largest = min(out.size.z, max(1, slabTargetBytes / max(1, outSectionBytes)), 64)
        let candidates = slabSections.map { [min($0, out.size.z)] } ?? Array((1...largest).reversed())
        var smallest: MemoryPlan?
        let wholeVolume = stages.indices.filter { stages[$0] is WholeVolumeStage }
        for t in candidates {
            let plan = layout(stages: stages, infos: infos, slab: t, readAhead: readAhead, writerThread: writerThread, secondInput: secondInput)
            smallest = plan
            let available = budget - plan.bytes - runtimeOverhead
            guard available >= 0 else { continue }
            if wholeVolume.isEmpty { return plan }
            // The rest of the budget, shared evenly between the whole-volume stages.
            var reservations = plan.reservations
            var parts = plan.parts
            for i in wholeVolume {
                let stage = stages[i] as! WholeVolumeStage
                guard let r = stage.reserve(for: infos[i], available: available / wholeVolume.count) else { break }
                reservations[i] = r
                parts.insert(("\(stage.name) (\(r.mode))", r.bytes), at: parts.count - 1)
            }
            if wholeVolume.allSatisfy({ reservations[$0] != nil }) {
                return MemoryPlan(slabSections: plan.slabSections, requests: plan.requests, parts: parts, reservations: reservations)
            }
        }
        var plan = smallest!
        var parts = plan.parts
        for i in wholeVolume {
            let stage = stages[i] as! WholeVolumeStage
            parts.insert(("\(stage.name) at least", stage.minimumBytes(for: infos[i])), at: parts.count - 1)
        }
        plan = MemoryPlan(slabSections: plan.slabSections, requests: plan.requests, parts: parts, reservations: plan.reservations)
        let chain = stages.isEmpty ? "copying" : "the chain " + stages.map(\.name).joined(separator: ",")
        throw FilterError.memoryBudget(
            what: "\(chain) on \(infos[0].size) voxels (\(plan))", needed: plan.bytes + runtimeOverhead, budget: budget)
    }

    /// The requests and memory of every node for output slabs of `slab` sections.
    ///   - secondInput: whether the first stage reads a second input of the input's geometry.
    static func layout(stages: [any Stage], infos: [VolumeInfo], slab: Int, readAhead: Int?, writerThread: Bool, secondInput: Bool = false) -> MemoryPlan {
        var requests = [Int](repeating: 0, count: stages.count + 1)
        var parts: [(String, Int)] = []
        requests[stages.count] = slab
        for i in stride(from: stages.count - 1, through: 0, by: -1) {
            let chunk = requests[i + 1]
            if let stage = stages[i] as? TileStage {
                let shape = StageSource.shape(stage: stage, output: infos[i + 1].size, input: infos[i].size, chunk: chunk)
                requests[i] = shape.upstreamRequest
                parts.append((stage.name, StageSource.bytes(stage: stage, info: infos[i + 1], input: infos[i].size, capacity: chunk, chunk: chunk)))
            } else {
                requests[i] = chunk
                parts.append((stages[i].name, WholeVolumeSource.bytes(info: infos[i + 1], capacity: chunk, chunk: chunk)))
            }
        }
        parts.reverse()
        parts.insert(("reader", ReaderSource.bytes(info: infos[0], capacity: requests[0], readAhead: readAhead)), at: 0)
        if secondInput {
            parts.insert(("second reader", ReaderSource.bytes(info: infos[0], capacity: requests[0], readAhead: readAhead)), at: 1)
        }
        let outSectionBytes = infos.last!.size.sectionVoxels * 4
        let writer = (writerThread ? 2 * slab * outSectionBytes : 0) + min(slab * outSectionBytes, MRCWriter.encodeChunkBytes)
        parts.append(("writer", writer))
        return MemoryPlan(slabSections: slab, requests: requests, parts: parts, reservations: Array(repeating: nil, count: stages.count))
    }
}
