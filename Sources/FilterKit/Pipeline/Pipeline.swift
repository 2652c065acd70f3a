/// Options of a pipeline run.
public struct PipelineOptions: Sendable {
    /// The memory budget for buffers (`--memory`).
    public var memoryBudget: Int
    /// A fixed slab thickness in output sections, or nil to let the planner choose.
    public var slabSections: Int?
    /// Whether reading and writing run on their own threads, overlapping compute.
    public var backgroundIO: Bool
    /// Where a pipe input is spooled when a stage must read it twice (default `$TMPDIR`).
    public var spoolDirectory: String?
    /// Whether progress is shown on stderr.
    public var showProgress: Bool
    /// Compute only these output sections of the full result (`--zrange`), or nil for all.
    public var outputSections: Range<Int>?
    /// Bricks of this X-Y size (`--brick`), or nil to use bricks only when whole sections do
    /// not fit ``memoryBudget``.
    public var brick: SIMD2<Int>?

    public init(
        memoryBudget: Int = 256 << 20, slabSections: Int? = nil, backgroundIO: Bool = true, spoolDirectory: String? = nil,
        showProgress: Bool = false, outputSections: Range<Int>? = nil, brick: SIMD2<Int>? = nil
    ) {
        self.memoryBudget = memoryBudget
        self.slabSections = slabSections
        self.backgroundIO = backgroundIO
        self.spoolDirectory = spoolDirectory
        self.showProgress = showProgress
        self.outputSections = outputSections
        self.brick = brick
    }
}

/// A chain of stages from a reader to a writer, streamed in Z slabs within a memory budget.
///
/// Construction runs the information and region phases: every stage's output info is computed
/// (parameters checked against the input) and the memory plan made, so a chain that cannot run
/// fails before any voxel is read. ``run(writer:)`` then spools a pipe if a stage needs two
/// passes, runs the prepasses, and streams: a reader thread, the stages on the calling thread,
/// and a writer thread, joined by bounded queues.
public final class Pipeline {
    public let stages: [any Stage]
    /// How each stage runs (streaming or whole-volume), the closed set the pipeline switches over.
    public let kinds: [StageKind]
    /// `infos[0]` is the input; `infos[i + 1]` the output of stage `i`.
    public let infos: [VolumeInfo]
    public let plan: MemoryPlan
    public let options: PipelineOptions
    private var reader: VolumeReader
    /// The second input of the chain's first stage, a ``PairedInputStage``, or nil.
    private var second: VolumeReader?
    /// The first stage `reader` feeds (later than 0 once stages before a prepass were spooled).
    private var first = 0

    /// The output volume's description (the full result's, also when computing a part).
    public var outputInfo: VolumeInfo { infos.last! }

    /// The part computed when ``PipelineOptions/outputSections`` is set.
    public var part: VolumePart? { options.outputSections.map { VolumePart(sections: $0, full: outputInfo.size) } }

    /// What ``run(writer:)`` writes: the whole output, or the part's file geometry.
    public var writtenInfo: VolumeInfo { part?.info(fromFull: outputInfo) ?? outputInfo }

    /// Whether some stage reads its input more than once.
    public var needsPrepass: Bool { kinds.contains { $0.prepassCount > 0 } }

    /// - Parameter second: the second input of a chain that starts with a ``PairedInputStage``
    ///   (the other half); checked against `reader`'s geometry here, before any voxel is read.
    public init(reader: VolumeReader, second: VolumeReader? = nil, stages: [any Stage], options: PipelineOptions) throws {
        self.reader = reader
        self.second = second
        self.stages = stages
        self.options = options
        kinds = try StageKind.of(stages)
        try Pipeline.checkSecondInput(second, of: reader, stages: stages)
        var infos = [reader.info]
        for stage in stages {
            let next: VolumeInfo
            do {
                next = try stage.outputInfo(for: infos.last!)
            } catch {
                throw FilterError.stage(stage.name, at: "setup", error)
            }
            guard next.size.x > 0, next.size.y > 0, next.size.z > 0 else {
                throw FilterError.stage(name: stage.name, region: "setup", cause: .other(message: "the output would be empty (\(next.size))"))
            }
            infos.append(next)
        }
        self.infos = infos
        if let range = options.outputSections {
            let nz = infos.last!.size.z
            guard !range.isEmpty, range.lowerBound >= 0, range.upperBound <= nz else {
                throw FilterError.invalidParameter(
                    name: "zrange", value: "\(range.lowerBound):\(range.upperBound)", expected: "z0:z1 with 0 ≤ z0 < z1 ≤ \(nz) (the output's sections)")
            }
        }
        let readAhead = options.backgroundIO && !stages.isEmpty ? Pipeline.readAheadSections(reader.info) : nil
        plan = try MemoryPlan.make(
            kinds: kinds, infos: infos, budget: options.memoryBudget, slabSections: options.slabSections,
            readAhead: readAhead, writerThread: options.backgroundIO, secondInput: second != nil, brick: options.brick)
    }

    /// A second input goes with a first stage that takes one, and describes the same volume.
    static func checkSecondInput(_ second: VolumeReader?, of reader: VolumeReader, stages: [any Stage]) throws {
        let paired = stages.indices.filter { (stages[$0] as? PairedInputStage)?.takesSecondInput == true }
        guard let second else {
            if let i = paired.first {
                throw FilterError.invalidParameter(
                    name: "\(stages[i].name) input", value: reader.sourceName, expected: "a second input, the other half (`--pair FILE`, or two input paths)")
            }
            return
        }
        guard paired == [0] else {
            let chain = stages.map(\.name).joined(separator: ",")
            throw FilterError.invalidParameter(
                name: "pair", value: second.sourceName,
                expected: paired.isEmpty ? "a chain whose stage takes two halves, such as n2n (the chain is '\(chain)')"
                    : "the stage taking two halves first in the chain (the chain is '\(chain)'); run the stages before it on each half first")
        }
        let (a, b) = (reader.info, second.info)
        if a.size != b.size {
            throw FilterError.mismatchedInputs(first: reader.sourceName, second: second.sourceName, difference: "sizes \(a.size) and \(b.size)")
        }
        func largest(_ v: SIMD3<Float>) -> Float { pointwiseMax(v, -v).max() }
        if largest(a.voxelSize - b.voxelSize) > 1e-4 * max(largest(a.voxelSize), largest(b.voxelSize)) {
            throw FilterError.mismatchedInputs(
                first: reader.sourceName, second: second.sourceName,
                difference: "voxel sizes \(a.voxelSize.x),\(a.voxelSize.y),\(a.voxelSize.z) and \(b.voxelSize.x),\(b.voxelSize.y),\(b.voxelSize.z) Å")
        }
    }

    /// Sections per read-ahead chunk: about 4 MiB.
    static func readAheadSections(_ info: VolumeInfo) -> Int {
        max(1, (4 << 20) / max(1, info.size.sectionVoxels * 4))
    }

    /// Whether the last run copied the stored bytes inside the kernel (a chain without stages
    /// that changes no byte, from a file into a file; see ``MRCWriter/copySamples(of:progress:)``).
    public private(set) var copiedStoredBytes = false

    /// Whether ``runPrepasses()`` has run.
    private var prepared = false

    /// Streams the whole volume through the chain into `writer` (which is not finished here).
    public func run(writer: any VolumeWriter) throws {
        try runPrepasses()
        try stream(into: writer)
    }

    /// Makes the input re-readable where needed (spooling a pipe) and runs every stage's
    /// prepasses, without streaming the output; ``run(writer:)`` does this first. The `stats`
    /// command ends its chain with a ``StatisticsProbe`` and stops here.
    public func runPrepasses() throws {
        guard !prepared else { return }
        prepared = true
        let startsLater = (options.outputSections?.lowerBound ?? 0) > 0
        if needsPrepass || startsLater || kinds.first?.streaming?.boundary == .periodic || plan.brick != nil {
            reader = try rereadable(reader)
            second = try second.map(rereadable)
        }
        for (index, kind) in kinds.enumerated() {
            guard let prepassStage = kind.measuring else { continue }
            // A prepass re-runs the stages before it; whole-volume stages (an FFT of everything)
            // are worth running once: their output is spooled to disk and read from there on.
            if kinds[first..<index].contains(where: \.isWholeVolume) {
                let source = try makeNodes(stageCount: index, readAhead: false)
                let progress = ProgressReporter(label: "\(stages[first..<index].map(\.name).joined(separator: ",")) to disk", total: infos[index].size.z, enabled: options.showProgress)
                reader = try SpooledVolume(copying: source, info: infos[index], sectionsPerRequest: plan.requests[index], sourceName: reader.sourceName, directory: options.spoolDirectory, progress: progress.update)
                progress.finish()
                first = index
            }
            for pass in 0..<prepassStage.prepassCount {
                try runPrepass(prepassStage, at: index, pass: pass)
            }
        }
    }

    /// `input` itself when it can be read again, else a copy spooled to disk.
    private func rereadable(_ input: VolumeReader) throws -> VolumeReader {
        guard !input.supportsRandomAccess else { return input }
        let progress = ProgressReporter(label: "spooling \(input.sourceName) to disk", total: input.info.size.z, enabled: options.showProgress)
        let spooled = try SpooledVolume(copying: input, directory: options.spoolDirectory, progress: progress.update)
        progress.finish()
        return spooled
    }

    /// Builds the nodes for stages `first ..< count` over a fresh source of `reader` (which holds
    /// the input of stage `first`).
    private func makeNodes(stageCount count: Int, readAhead: Bool) throws -> SectionSource {
        let ahead = readAhead && options.backgroundIO && !stages.isEmpty ? Pipeline.readAheadSections(reader.info) : nil
        var node: SectionSource = ReaderSource(reader: reader, capacity: plan.requests[first], readAhead: ahead)
        for i in first..<count {
            let request = plan.requests[i + 1]
            switch kinds[i] {
            case .streaming(let stage):
                // Only the first stage takes a second input (checked at construction).
                let other = i == 0 ? second.map { ReaderSource(reader: $0, capacity: plan.requests[0], readAhead: ahead) } : nil
                node = try StageSource(stage: stage, upstream: node, second: other, info: infos[i + 1], capacity: request, chunk: request)
            case .wholeVolume(let stage):
                // The planner reserves memory for every whole-volume stage or refuses the chain.
                let reservation = plan.reservations[i]!
                let progress = ProgressReporter(label: "\(stage.name) (\(reservation.mode)) reading", total: infos[i].size.z, enabled: options.showProgress)
                node = WholeVolumeSource(
                    stage: stage, upstream: node, info: infos[i + 1], reservation: reservation, capacity: request, chunk: request,
                    progress: { done in
                        progress.update(done)
                        if done == progress.total { progress.finish() }
                    })
            }
        }
        return node
    }

    private func runPrepass(_ stage: PrepassStage, at index: Int, pass: Int) throws {
        // With bricks the prepass stage comes first (the planner checks): it reads whole input
        // sections one at a time, the memory its plan counts.
        let source = plan.brick != nil ? ReaderSource(reader: reader, capacity: 1, readAhead: nil) : try makeNodes(stageCount: index, readAhead: false)
        let paired = index == 0 ? second.map { (stage as! PairedInputStage, ReaderSource(reader: $0, capacity: plan.requests[0], readAhead: nil)) } : nil
        let info = infos[index]
        let step = plan.brick != nil ? 1 : plan.requests[index]
        let progress = ProgressReporter(label: "\(stage.name) prepass \(pass + 1)/\(stage.prepassCount)", total: info.size.z, enabled: options.showProgress)
        var z = 0
        while z < info.size.z {
            let count = min(step, info.size.z - z)
            try source.provide(z..<(z + count))
            try paired?.1.provide(z..<(z + count))
            for k in 0..<count {
                do {
                    if let (stage, other) = paired {
                        try stage.prepass(pass, sections: source.section(z + k), second: other.section(z + k), count: 1, info: info)
                    } else {
                        try stage.prepass(pass, sections: source.section(z + k), count: 1, info: info)
                    }
                } catch {
                    throw FilterError.stage(stage.name, at: "prepass, section \(z + k)", error)
                }
            }
            z += count
            progress.update(z)
        }
        try stage.finishPrepass(pass)
        progress.finish()
    }

    private func stream(into writer: any VolumeWriter) throws {
        if let brick = plan.brick { return try streamBricks(brick, into: writer) }
        let out = outputInfo
        let sections = options.outputSections ?? 0..<out.size.z
        let label = stages.isEmpty ? "copying" : stages.map(\.name).joined(separator: ",")
        if stages.isEmpty, options.outputSections == nil, let mrcReader = reader as? MRCReader, let mrcWriter = writer as? MRCWriter {
            // A copy that changes no stored byte (convert, file to file) moves them inside the kernel.
            let progress = ProgressReporter(label: label, total: sections.count, enabled: options.showProgress)
            if try mrcWriter.copySamples(of: mrcReader, progress: progress.update) {
                copiedStoredBytes = true
                progress.finish()
                return
            }
        }
        // The read-ahead thread reads from section 0: a part that starts later reads what it needs.
        let last = try makeNodes(stageCount: stages.count, readAhead: sections.lowerBound == 0)
        let slab = plan.slabSections
        let progress = ProgressReporter(label: label, total: sections.count, enabled: options.showProgress)
        let background = options.backgroundIO ? SlabWriter(writer: writer, info: out, sectionsPerSlab: slab) : nil
        let staging = background == nil ? UnsafeMutablePointer<Float>.allocate(capacity: slab * out.size.sectionVoxels) : nil
        defer { staging?.deallocate() }
        do {
            var z = sections.lowerBound
            while z < sections.upperBound {
                let count = min(slab, sections.upperBound - z)
                try last.provide(z..<(z + count))
                if let background {
                    try background.write(sections: last.section, from: z, count: count, rect: .whole(out.size))
                } else if let staging {
                    for k in 0..<count {
                        (staging + k * out.size.sectionVoxels).update(from: last.section(z + k), count: out.size.sectionVoxels)
                    }
                    try writer.writeRows(count * out.size.y, from: staging)
                }
                z += count
                progress.update(z - sections.lowerBound)
            }
            try background?.finish()
        } catch {
            background?.cancel()
            throw error
        }
        progress.finish()
    }

    /// Bytes of rows moved at a time from the brick assembly file to the writer.
    static let assemblyChunkBytes = 1 << 20

    /// Brick mode: every brick of the output streamed through the chain over all its sections
    /// (nodes holding only the brick's rectangle grown by the halos, read from the input by
    /// rectangle). A writer that places rectangles (an MRC file) gets each brick section at its
    /// place; otherwise (a pipe, TIFF) the bricks go into an assembly file in `$TMPDIR`
    /// (float32, the output's layout) handed to the writer row by row in order. Either way the
    /// same bytes and statistics as slab mode, in memory bounded by the brick, not the section.
    /// With background I/O (the default) each brick's input is read ahead on one thread and its
    /// output written on another, as in slab mode.
    private func streamBricks(_ brick: SIMD2<Int>, into writer: any VolumeWriter) throws {
        let out = outputInfo
        let sections = options.outputSections ?? 0..<out.size.z
        let placing = (writer as? RectanglePlacingWriter).flatMap { $0.placesRectangles ? $0 : nil }
        let assembly = try placing == nil ? BrickAssembly(info: out, sections: sections.count, directory: options.spoolDirectory) : nil
        let rects = MemoryPlan.bricks(of: out.size, size: brick)
        let label = (stages.isEmpty ? "copying" : stages.map(\.name).joined(separator: ",")) + " (\(rects.count) bricks)"
        let progress = ProgressReporter(label: label, total: rects.count * sections.count, enabled: options.showProgress)
        let slab = plan.slabSections
        // Section `z` of the output (counted from the first written) of brick `rect`, in place.
        let put: SlabWriter.Write = { values, piece in
            for k in 0..<piece.count {
                let z = piece.firstSection + k - sections.lowerBound
                if let placing {
                    try placing.placeRectangle(piece.rect, section: z, from: values + k * piece.rect.voxels)
                } else {
                    try assembly!.write(piece.rect, section: z, from: values + k * piece.rect.voxels)
                }
            }
        }
        let background = options.backgroundIO ? SlabWriter(sectionVoxels: brick.x * brick.y, sectionsPerSlab: slab, write: put) : nil
        var done = 0
        do {
            for rect in rects {
                let last = try makeBrickNodes(output: rect)
                var z = sections.lowerBound
                while z < sections.upperBound {
                    let count = min(slab, sections.upperBound - z)
                    try last.provide(z..<(z + count))
                    if let background {
                        try background.write(sections: last.section, from: z, count: count, rect: rect)
                    } else {
                        // The node's sections are not modified by the writer's rounding in place
                        // past this call: the next request drops them or recomputes.
                        for k in 0..<count {
                            try put(UnsafeMutablePointer(mutating: last.section(z + k)), SlabWriter.Slab(rect: rect, firstSection: z + k, count: 1))
                        }
                    }
                    z += count
                    done += count
                    progress.update(done)
                }
            }
            try background?.finish()
        } catch {
            background?.cancel()
            throw error
        }
        try assembly?.writeInOrder(to: writer)
        progress.finish()
    }

    /// Sections of a brick's input read ahead per chunk (nil: no reader thread): one step's.
    private var brickReadAhead: Int? {
        options.backgroundIO && !stages.isEmpty ? MemoryPlan.brickReadAhead(requests: plan.requests, slab: plan.slabSections) : nil
    }

    /// The nodes of every stage for the output brick `rect`, each holding its rectangle.
    private func makeBrickNodes(output rect: PlaneRect) throws -> SectionSource {
        // A brick plan is made only when every stage streams (MemoryPlan.brickRefusal).
        let tiles = kinds.compactMap(\.streaming)
        let rects = MemoryPlan.brickRects(tiles: tiles, infos: infos, requests: plan.requests, output: rect)
        var node: SectionSource = ReaderSource(reader: reader, rect: rects[0], capacity: plan.requests[0], readAhead: brickReadAhead)
        for (i, stage) in tiles.enumerated() {
            let request = plan.requests[i + 1]
            node = try StageSource(stage: stage, upstream: node, info: infos[i + 1], rect: rects[i + 1], capacity: request, chunk: request)
        }
        return node
    }
}
