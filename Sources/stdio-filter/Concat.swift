import ArgumentParser
import FilterKit

/// `stdio-filter concat PART… OUT`: joins the part files of `--zrange` runs into one volume.
struct Concat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join part files (written with --zrange) into the full volume, checking that they tile it exactly.",
        discussion: """
            Every part records its sections and the full volume's size in an MRC label. The parts
            may be given in any order; they must cover the volume exactly — no gap, no overlap —
            with the same section size, voxel size and type. The output is streamed section by
            section (a file gets exact DMIN/DMAX/DMEAN/RMS) and placed in space as the single
            run's output would be.

            Examples:
              stdio-filter concat part-*.mrc denoised.mrc
              stdio-filter concat part-0.mrc part-1.mrc part-2.mrc - | stdio-filter info
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var io: IOOptions

    @Argument(help: ArgumentHelp("Part files, then the output file ('-' for stdout).", valueName: "paths"))
    var paths: [String] = []

    func validate() throws {
        guard paths.count >= 2 else { throw ValidationError("give at least one part file and the output path") }
    }

    func run() throws {
        let console = Console(command: "concat", quiet: global.quiet)
        try console.run {
            let output = paths.last!
            try refuseTerminalOutput(output)
            var parts: [(path: String, source: InputSource, reader: VolumeReader, part: VolumePart)] = []
            for path in paths.dropLast() {
                guard path != "-" else { throw ValidationError("parts must be files (the standard input cannot hold several)") }
                let (source, reader) = try openVolume(path, memoryBudget: global.memoryBytes, console: console)
                guard let part = VolumePart.recorded(in: reader.info) else {
                    throw FilterError.unsupported(source: path, what: "not a part file: no 'stdio-filter part z=…' label", hint: "write parts with --zrange")
                }
                guard part.sections.count == reader.info.size.z else {
                    throw FilterError.unsupported(source: path, what: "its label says \(part) but it holds \(reader.info.size.z) sections", hint: "")
                }
                parts.append((path, source, reader, part))
            }
            parts.sort { $0.part.sections.lowerBound < $1.part.sections.lowerBound }
            try Concat.checkTiling(parts.map { ($0.path, $0.reader.info, $0.part) })
            let first = parts[0]
            var info = first.part.fullInfo(fromFirstPart: first.reader.info)
            info.elementType = Convert.defaultOutputType(for: info.elementType, format: try io.outputFormat(for: output))
            let writer = try io.createOutput(
                output, info: info, operation: "concat \(parts.count) parts", protecting: parts.map(\.source), console: console)
            do {
                let sectionVoxels = info.size.sectionVoxels
                let step = max(1, min(64, (16 << 20) / max(1, sectionVoxels * 4)))
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: step * sectionVoxels)
                defer { buffer.deallocate() }
                let progress = ProgressReporter(label: "concat", total: info.size.z, enabled: !global.quiet)
                for p in parts {
                    var z = 0
                    while z < p.part.sections.count {
                        let count = min(step, p.part.sections.count - z)
                        try p.reader.readSections(z..<(z + count), into: buffer)
                        try writer.writeRows(count * info.size.y, from: buffer)
                        z += count
                        progress.update(p.part.sections.lowerBound + z)
                    }
                }
                try writer.finish()
                progress.finish()
            } catch {
                writer.abort()
                throw error
            }
        }
    }

    /// Parts sorted by first section must cover `0 ..< full.z` exactly, with the same geometry.
    static func checkTiling(_ parts: [(path: String, info: VolumeInfo, part: VolumePart)]) throws {
        let first = parts[0]
        for p in parts.dropFirst() {
            func mismatch(_ what: String, _ a: String, _ b: String) -> FilterError {
                .unsupported(source: p.path, what: "\(what) \(b) differs from \(first.path)'s \(a)", hint: "all parts must come from one run's split")
            }
            if p.part.full != first.part.full { throw mismatch("the full volume", "\(first.part.full)", "\(p.part.full)") }
            if p.info.voxelSize != first.info.voxelSize { throw mismatch("the voxel size", "\(first.info.voxelSize)", "\(p.info.voxelSize)") }
            if p.info.elementType != first.info.elementType { throw mismatch("the type", "\(first.info.elementType)", "\(p.info.elementType)") }
        }
        if first.info.size.x != first.part.full.x || first.info.size.y != first.part.full.y {
            throw FilterError.unsupported(source: first.path, what: "sections of \(first.info.size.x)×\(first.info.size.y) but its label says \(first.part.full)", hint: "")
        }
        var next = 0
        for p in parts {
            let r = p.part.sections
            if r.lowerBound > next {
                throw FilterError.unsupported(
                    source: p.path, what: "sections \(next)..<\(r.lowerBound) of \(p.part.full.z) are missing before this part (\(r.lowerBound)..<\(r.upperBound))",
                    hint: "give every part")
            }
            if r.lowerBound < next {
                throw FilterError.unsupported(
                    source: p.path, what: "this part (\(r.lowerBound)..<\(r.upperBound)) overlaps sections \(r.lowerBound)..<\(min(next, r.upperBound)) of another part",
                    hint: "give each part once")
            }
            next = r.upperBound
        }
        if next < first.part.full.z {
            throw FilterError.unsupported(
                source: parts.last!.path, what: "sections \(next)..<\(first.part.full.z) of \(first.part.full.z) are missing after this part", hint: "give every part")
        }
    }
}
