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

    /// Runs `command` whole and in `parts` parts, joins them, and compares.
    static func expectPartsEqualWhole(_ command: String, parts: Int, in dir: URL, input: String = "in.mrc", chain: String? = nil) throws {
        let whole = try shell("$B \(command) \(input) whole.mrc", in: dir)
        #expect(whole.status == 0, "\(command): \(whole.stderr)")
        let plan = try shell("$B plan --parts \(parts) \(chain.map { "--chain \(q($0)) " } ?? "")\(input)", in: dir)
        let ranges = String(decoding: plan.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(plan.status == 0 && ranges.count == parts, "plan: \(ranges) \(plan.stderr)")
        var names: [String] = []
        for (i, range) in ranges.enumerated() {
            let name = "part-\(i).mrc"
            let run = try shell("$B \(command) --zrange \(range) \(input) \(name)", in: dir)
            #expect(run.status == 0, "\(command) --zrange \(range): \(run.stderr)")
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

    @Test("s2s with a saved model: 3 parts equal the single run")
    func s2sParts() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try shell("$B synth --quiet --size 40x32x40 in.mrc", in: dir)
        let train = try shell("$B s2s --steps 3 --patch 16 --samples 1 --tile 16 --halo 4 --save-model m.safetensors in.mrc trained.mrc", in: dir)
        #expect(train.status == 0, "\(train.stderr)")
        try PartsEndToEndTests.expectPartsEqualWhole("s2s --model m.safetensors --samples 2 --tile 16 --halo 4", parts: 3, in: dir)
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
        #expect(bad.status == 1 && bad.errorLines.count == 1 && bad.stderr.contains("invalid zrange") && !left.contains("y.mrc"), "\(bad.stderr)")
    }
}
