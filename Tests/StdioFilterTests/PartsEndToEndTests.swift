import FilterKit
import Foundation
import Testing

/// Split runs (`--zrange`), `plan` and `concat`: the parts joined equal the single run bit for bit.
@Suite("parts: --zrange, plan, concat (built binary)")
struct PartsEndToEndTests {
    /// Voxels (as floats) and geometry of an MRC file.
    static func load(_ path: String) throws -> (info: VolumeInfo, values: [Float]) {
        let reader = try MRCReader(source: InputSource.open(path))
        var values = [Float](repeating: 0, count: reader.info.size.voxelCount)
        try values.withUnsafeMutableBufferPointer { try reader.readSections(0..<reader.info.size.z, into: $0.baseAddress!) }
        return (reader.info, values)
    }

    /// Runs `command` whole and in `parts` parts (with `partCommand` when given: the same with
    /// `--stats`), joins them, and compares.
    static func expectPartsEqualWhole(
        _ command: String, parts: Int, in dir: URL, input: String = "in.mrc", chain: String? = nil, partCommand: String? = nil
    ) throws {
        let whole = try shell("$B \(command) \(input) whole.mrc", in: dir)
        #expect(whole.status == 0, "\(command): \(whole.stderr)")
        let plan = try shell("$B plan --parts \(parts) \(chain.map { "--chain \(q($0)) " } ?? "")\(input)", in: dir)
        let ranges = String(decoding: plan.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(plan.status == 0 && ranges.count == parts, "plan: \(ranges) \(plan.stderr)")
        var names: [String] = []
        for (i, range) in ranges.enumerated() {
            let name = "part-\(i).mrc"
            let run = try shell("$B \(partCommand ?? command) --zrange \(range) \(input) \(name)", in: dir)
            #expect(run.status == 0, "\(partCommand ?? command) --zrange \(range): \(run.stderr)")
            names.append(name)
        }
        // In reverse order: concat sorts by the recorded ranges.
        let join = try shell("$B concat \(names.reversed().joined(separator: " ")) joined.mrc", in: dir)
        #expect(join.status == 0, "concat: \(join.stderr)")
        let (a, b) = (try load(dir.appendingPathComponent("whole.mrc").path), try load(dir.appendingPathComponent("joined.mrc").path))
        #expect(a.values == b.values, "\(command), \(parts) parts: voxels differ")
        #expect(a.info.size == b.info.size && a.info.origin == b.info.origin && a.info.voxelSize == b.info.voxelSize && a.info.gridStart == b.info.gridStart)
        for name in names + ["whole.mrc", "joined.mrc"] { try FileManager.default.removeItem(at: dir.appendingPathComponent(name)) }
    }

    @Test("gaussian, median, normalize and a chain: 1, 3, 4 and 9 parts (thinner than the halo) equal the single run",
          arguments: ["gaussian --sigma 2", "median --size 5", "normalize", "run --chain gaussian:sigma=1.5,bin:factor=2"])
    func streamingStages(_ command: String) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try makeVolume(Size3(x: 24, y: 20, z: 36), in: dir)
        let chain = command.hasPrefix("run --chain ") ? String(command.dropFirst("run --chain ".count)) : nil
        for parts in [1, 3, 4, 9] {
            try PartsEndToEndTests.expectPartsEqualWhole(command, parts: parts, in: dir, chain: chain)
        }
    }

    @Test("s2s with a saved model: 1, 3, 4 and 12 parts (3–4 sections, thinner than the halo) equal the single run")
    func s2sParts() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try shell("$B synth --quiet --size 40x32x40 in.mrc", in: dir)
        let train = try shell("$B s2s --steps 3 --patch 16 --samples 1 --tile 16 --halo 4 --save-model m.safetensors in.mrc trained.mrc", in: dir)
        #expect(train.status == 0, "\(train.stderr)")
        // The run's estimate comes first, then the distilled network that predicts (and that the
        // model keeps: the parts below predict with it).
        #expect(train.stderr.contains("estimate for the whole run") && train.stderr.contains("distilled 3 steps"), "\(train.stderr)")
        for parts in [1, 3, 4, 12] {
            try PartsEndToEndTests.expectPartsEqualWhole("s2s --model m.safetensors --samples 2 --tile 16 --halo 4", parts: parts, in: dir)
        }
    }

    @Test("concat refuses missing, overlapping, mismatched and non-part files in one line, leaving no output")
    func refusals() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try makeVolume(Size3(x: 16, y: 12, z: 20), in: dir)
        _ = try makeVolume(Size3(x: 16, y: 12, z: 24), in: dir, name: "other.mrc")
        for (name, range, input) in [("a", "0:8", "in.mrc"), ("b", "8:14", "in.mrc"), ("c", "14:20", "in.mrc"), ("d", "6:10", "in.mrc"), ("x", "14:24", "other.mrc")] {
            let run = try shell("$B gaussian --zrange \(range) \(input) \(name).mrc", in: dir)
            #expect(run.status == 0, "\(run.stderr)")
        }
        let cases: [(String, String)] = [
            ("a.mrc c.mrc", "sections 8..<14 of 20 are missing before this part"),
            ("a.mrc b.mrc", "sections 14..<20 of 20 are missing after this part"),
            ("a.mrc d.mrc b.mrc c.mrc", "overlaps"),
            ("a.mrc a.mrc b.mrc c.mrc", "overlaps"),
            ("a.mrc b.mrc x.mrc", "the full volume"),
            ("a.mrc b.mrc in.mrc", "not a part file"),
        ]
        let before = try files(in: dir)
        for (parts, message) in cases {
            let run = try shell("$B concat \(parts) out.mrc", in: dir)
            #expect(run.status == 1 && run.errorLines.count == 1 && run.stderr.contains(message), "\(parts): \(run.stderr)")
            #expect(try files(in: dir) == before, "\(parts): no output left")
        }
        let bad = try shell("$B gaussian --zrange 18:25 in.mrc y.mrc", in: dir)
        let left = try files(in: dir)
        #expect(bad.status == 64 && bad.errorLines.count == 1 && bad.stderr.contains("invalid zrange") && !left.contains("y.mrc"), "\(bad.stderr)")
    }

    @Test("--stats from `stats --json`: parts equal the single run (normalize both methods, a chain, s2s)",
          arguments: [
            ("normalize", "", "normalize --stats s.json"),
            ("normalize --method percentile --low 1 --high 99", "", "normalize --method percentile --low 1 --high 99 --stats s.json"),
            ("run --chain gaussian:sigma=1.5,normalize", "--chain gaussian:sigma=1.5", "run --chain gaussian:sigma=1.5,normalize:stats=s.json"),
          ])
    func statsParts(_ whole: String, statsOptions: String, part: String) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try makeVolume(Size3(x: 24, y: 20, z: 36), in: dir)
        let stats = try shell("$B stats \(statsOptions) --json in.mrc > s.json", in: dir)
        #expect(stats.status == 0, "\(stats.stderr)")
        for parts in [1, 4] {
            try PartsEndToEndTests.expectPartsEqualWhole(whole, parts: parts, in: dir, partCommand: part)
        }
    }

    @Test("s2s with a saved model and --stats: 3 parts equal the single run")
    func s2sStatsParts() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try shell("$B synth --quiet --size 40x32x40 in.mrc", in: dir)
        let train = try shell("$B s2s --steps 2 --patch 16 --samples 1 --tile 16 --halo 4 --save-model m.safetensors in.mrc trained.mrc && $B stats --percentiles none --json in.mrc > s.json", in: dir)
        #expect(train.status == 0, "\(train.stderr)")
        let options = "--model m.safetensors --samples 2 --tile 16 --halo 4"
        try PartsEndToEndTests.expectPartsEqualWhole("s2s \(options)", parts: 3, in: dir, partCommand: "s2s \(options) --stats s.json")
    }

    /// Overwrites the last `sections` sections of a float32 MRC (no extended header) with NaN.
    static func poison(_ path: String, size: Size3, sections: Int) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(1024 + (size.z - sections) * size.sectionVoxels * 4))
        try handle.write(contentsOf: Data([Float](repeating: .nan, count: sections * size.sectionVoxels).withUnsafeBytes { Array($0) }))
    }

    @Test("with --stats a part reads only its sections and their halo: NaN beyond them does not reach it")
    func statsPartsReadOnlyTheirSections() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let size = Size3(x: 24, y: 20, z: 36)
        _ = try makeVolume(size, in: dir)
        let setup = try shell("$B stats --json in.mrc > s.json && cp in.mrc poisoned.mrc && $B gaussian --sigma 1 --zrange 0:12 in.mrc clean.mrc", in: dir)
        #expect(setup.status == 0, "\(setup.stderr)")
        try PartsEndToEndTests.poison(dir.appendingPathComponent("poisoned.mrc").path, size: size, sections: 12)
        // Without --stats the prepass reads the NaN sections and refuses; with it, only 0..<12 + halo are read.
        let prepass = try shell("$B normalize --zrange 0:12 poisoned.mrc p.mrc", in: dir)
        #expect(prepass.status == 1 && prepass.stderr.contains("NaN"), "\(prepass.stderr)")
        let run = try shell("$B run --chain gaussian:sigma=1,normalize:stats=s.json --zrange 0:12 poisoned.mrc p.mrc && $B run --chain gaussian:sigma=1,normalize --zrange 0:12 in.mrc q.mrc", in: dir)
        #expect(run.status != 0, "gaussian changes the statistics: s.json (of in.mrc) does not describe normalize's input… \(run.stderr)")
        let direct = try shell("$B normalize --stats s.json --zrange 0:12 poisoned.mrc p.mrc && $B normalize --zrange 0:12 in.mrc q.mrc", in: dir)
        #expect(direct.status == 0, "\(direct.stderr)")
        let (p, q) = (try PartsEndToEndTests.load(dir.appendingPathComponent("p.mrc").path), try PartsEndToEndTests.load(dir.appendingPathComponent("q.mrc").path))
        #expect(p.values == q.values && !p.values.contains { $0.isNaN })
    }

    @Test("--stats refuses a file of another volume, without a needed percentile, or not a statistics file, in one line")
    func statsRefusals() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try makeVolume(Size3(x: 16, y: 12, z: 20), in: dir)
        _ = try makeVolume(Size3(x: 16, y: 12, z: 24), in: dir, name: "other.mrc")
        let setup = try shell("$B stats --json other.mrc > other.json && $B stats --percentiles 5,95 --json in.mrc > p.json && echo '{\"a\": 1}' > bad.json", in: dir)
        #expect(setup.status == 0, "\(setup.stderr)")
        let cases: [(String, Int32, String)] = [
            ("normalize --stats other.json in.mrc out.mrc", 1, "other.json is statistics of a 16×12×24 volume"),
            ("s2s --stats other.json --steps 1 in.mrc out.mrc", 1, "other.json is statistics of a 16×12×24 volume"),
            ("normalize --method percentile --stats p.json in.mrc out.mrc", 64, "0.1 % percentile (it has 5, 95)"),
            ("normalize --stats bad.json in.mrc out.mrc", 1, "not a statistics file"),
            ("normalize --stats missing.json in.mrc out.mrc", 1, "missing.json"),
            ("stats --percentiles 1,101 in.mrc", 64, "101"),
        ]
        for (command, status, message) in cases {
            let run = try shell("$B \(command)", in: dir)
            // ArgumentParser follows its own validation messages (of options) with the usage.
            let lines = command.hasPrefix("stats") ? 3 : 1
            #expect(run.status == status && run.errorLines.count <= lines && run.errorLines.first?.contains(message) == true, "\(command): \(run.status) \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out.mrc").path), "\(command): no output")
        }
    }
}
