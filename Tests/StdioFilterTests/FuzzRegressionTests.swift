import Foundation
import Testing

/// Inputs the fuzzers (`scripts/fuzz.sh`) once crashed on, replayed through the built binary:
/// each must now give a result or a one-line error naming the input, exit 0 or 1, leave no
/// file behind on failure and leave the input untouched.
@Suite("fuzz regressions (built binary)")
struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every kept input, by the fuzz target that found it.
    static func inputs(_ target: String) -> [URL] {
        let folder = root.appendingPathComponent("Fuzz/regressions/\(target)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { folder.appendingPathComponent($0) }
    }

    static let volumeInputs = ["FuzzMRCHeader", "FuzzMRCFile", "FuzzTIFF"].flatMap(inputs)

    @Test("volume files that crashed a reader: converted, or refused in one line", arguments: volumeInputs)
    func volumeFile(_ file: URL) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("input.bin")
        try FileManager.default.copyItem(at: file, to: input)
        let original = try Data(contentsOf: input)
        for command in ["info", "convert"] {
            let output = command == "convert" ? " \(q(dir.appendingPathComponent("out.mrc").path))" : ""
            let run = try shell("$B \(command) \(q(input.path))\(output)")
            #expect(run.status == 0 || run.status == 1, "\(file.lastPathComponent): \(command) exit \(run.status): \(run.stderr.suffix(400))")
            if run.status == 1 {
                // One error line; anything else is a labelled warning (libtiff's, about the file).
                #expect(run.errorLines.filter { $0.contains(": error: ") }.count == 1, "one error line: \(run.stderr)")
                #expect(run.errorLines.allSatisfy { $0.contains(": error: ") || $0.contains(": warning: ") }, "\(run.stderr)")
                #expect(run.stderr.contains(input.path), "names the input: \(run.stderr)")
                #expect(try files(in: dir) == ["input.bin"], "nothing left behind")
            }
            try? FileManager.default.removeItem(at: dir.appendingPathComponent("out.mrc"))
        }
        #expect(try Data(contentsOf: input) == original, "the input is untouched")
    }

    @Test("model files that crashed the safetensors loader: refused in one line", arguments: inputs("FuzzSafetensors"))
    func modelFile(_ file: URL) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let volume = dir.appendingPathComponent("v.mrc").path
        try shell("$B synth --quiet --size 16x16x16 \(q(volume))")
        let run = try shell("$B s2s --model \(q(file.path)) \(q(volume)) \(q(dir.appendingPathComponent("out.mrc").path))")
        #expect(run.status == 1 && run.errorLines.count == 1 && run.stderr.contains(file.path),
                "\(file.lastPathComponent): exit \(run.status): \(run.stderr.suffix(400))")
        #expect(try files(in: dir) == ["v.mrc"], "nothing left behind")
    }

    @Test("statistics files that crashed their reader: refused in one line", arguments: inputs("FuzzStatistics"))
    func statisticsFile(_ file: URL) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let volume = dir.appendingPathComponent("v.mrc").path
        try shell("$B synth --quiet --size 16x16x16 \(q(volume))")
        for stage in ["normalize", "normalize --method percentile", "s2s --steps 1"] {
            let run = try shell("$B \(stage) --stats \(q(file.path)) \(q(volume)) \(q(dir.appendingPathComponent("out.mrc").path))")
            #expect((run.status == 1 || run.status == 64) && run.errorLines.count == 1 && run.stderr.contains(file.path),
                    "\(file.lastPathComponent): \(stage): exit \(run.status): \(run.stderr.suffix(400))")
            #expect(try files(in: dir) == ["v.mrc"], "nothing left behind")
        }
    }

    @Test("chain specs that crashed the parser or a stage's checks: refused in one line", arguments: inputs("FuzzChainSpec"))
    func chainSpec(_ file: URL) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let volume = dir.appendingPathComponent("v.mrc").path
        try shell("$B synth --quiet --size 16x16x16 \(q(volume))")
        let spec = String(decoding: try Data(contentsOf: file), as: UTF8.self)
        let run = try shell("$B run --chain \(q(spec)) \(q(volume)) \(q(dir.appendingPathComponent("out.mrc").path))")
        #expect(run.status == 0 || run.status == 1 || run.status == 64, "exit \(run.status): \(run.stderr.suffix(400))")
        if run.status != 0 { #expect(try files(in: dir) == ["v.mrc"], "nothing left behind") }
    }
}
