import Foundation
import Testing
import FilterKit

/// `stdio-filter deconv` through the built binary: agreement with the numpy reference of
/// `../shared/reference/deconv_ref.py`, pipes, header pixel size, and clear refusals.
@Suite("deconv (built binary)")
struct DeconvolutionEndToEndTests {
    static let reference: URL? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.deletingLastPathComponent().appendingPathComponent("shared/reference/deconv_ref.py")
        return FileManager.default.fileExists(atPath: script.path) ? script : nil
    }()

    static let numpyAvailable: Bool = (try? shell("python3 -c 'import numpy, mrcfile'").status) == 0

    /// A 64×96×80 (z, y, x) volume with structure and noise, written by mrcfile.
    static func makeInput(in dir: URL) throws -> String {
        let script = """
            import numpy as np, mrcfile
            rng = np.random.default_rng(3)
            z, y, x = np.indices((64, 96, 80))
            v = rng.standard_normal((64, 96, 80)) * 3 + 12 + 2 * np.sin(0.2 * x) + np.cos(0.13 * y + 0.3 * z)
            with mrcfile.new('in.mrc', overwrite=True) as m:
                m.set_data(v.astype(np.float32)); m.voxel_size = 10.0
            """
        let run = try shell("python3 -c \(q(script))", in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        return dir.appendingPathComponent("in.mrc").path
    }

    /// max |a − b| / std(b) between two MRC files, computed by numpy.
    static func relativeError(_ a: String, _ b: String, in dir: URL) throws -> Double {
        let script = "import sys, numpy as np, mrcfile; a = mrcfile.read(sys.argv[1]).astype(np.float64); b = mrcfile.read(sys.argv[2]).astype(np.float64); print(np.abs(a - b).max() / b.std())"
        let run = try shell("python3 -c \(q(script)) \(q(a)) \(q(b))", in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        return try #require(Double(String(decoding: run.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test("agrees with deconv_ref.py to 1e-5·std, in memory, out of core, and from a pipe",
          arguments: [
            ("--defocus 3", "--angpix 10 --defocus 3"),
            ("--defocus 2.5 --snrfalloff 1.2 --deconvstrength 0.7 --highpassnyquist 0.05 --phaseflipped on",
             "--angpix 10 --defocus 2.5 --snrfalloff 1.2 --deconvstrength 0.7 --highpassnyquist 0.05 --phaseflipped"),
            ("--angpix 13.7 --defocus 5 --phaseshift 30 --voltage 200 --cs 2 --strength-scale tegunov --normalize off",
             "--angpix 13.7 --defocus 5 --phaseshift 30 --voltage 200 --cs 2 --strength-scale tegunov --no-normalize"),
          ])
    func matchesReference(_ ours: String, _ theirs: String) throws {
        guard let reference = Self.reference, Self.numpyAvailable else {
            print("skipped: needs ../shared/reference/deconv_ref.py and python3 with numpy and mrcfile")
            return
        }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Self.makeInput(in: dir)
        let ref = try shell("python3 \(q(reference.path)) \(q(input)) ref.mrc \(theirs)", in: dir)
        try #require(ref.status == 0, "\(ref.stderr)")
        let runs = [
            "$B deconv \(ours) in.mrc memory.mrc",
            "$B deconv \(ours) --execution outofcore in.mrc outofcore.mrc",
            "cat in.mrc | $B deconv \(ours) --execution outofcore --slab 1 > pipe.mrc 2> pipe.log",
        ]
        for run in runs {
            let result = try shell(run, in: dir)
            #expect(result.status == 0, "\(run): \(result.stderr)")
        }
        let log = try String(contentsOf: dir.appendingPathComponent("pipe.log"), encoding: .utf8)
        #expect(log.contains("deconv: out of core: "), "\(log)")
        for name in ["memory.mrc", "outofcore.mrc", "pipe.mrc"] {
            let error = try Self.relativeError(name, "ref.mrc", in: dir)
            #expect(error <= 1e-5, "\(ours) \(name): max |Δ| = \(error)·std")
        }
    }

    @Test("angpix comes from the header when not given, and the tool says so")
    func angpixFromHeader() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 20, y: 18, z: 10), in: dir)
        let run = try shell("$B deconv --defocus 3 \(q(input)) out.mrc", in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("deconv: angpix 4.5 Å from the input's header"), "\(run.stderr)")
        #expect(try shell("$B deconv --quiet --defocus 3 \(q(input)) out2.mrc", in: dir).stderr.isEmpty)
        #expect(try files(in: dir) == ["in.mrc", "out.mrc", "out2.mrc"])
    }

    @Test("bad deconv parameters are refused before reading, naming the parameter and unit")
    func badParameters() throws {
        let cases = [
            ("$B deconv in.mrc out.mrc", 64, "invalid deconv defocus '': expected a value (required)"),
            ("$B deconv --defocus 30000 in.mrc out.mrc", 64, "invalid deconv defocus '30000': expected a number in -20…100 µm"),
            ("$B deconv --defocus 3 --angpix 0 in.mrc out.mrc", 64, "invalid deconv angpix '0'"),
            ("$B deconv --defocus 3 --angpix nan in.mrc out.mrc", 64, "invalid deconv angpix 'nan'"),
            ("$B deconv --defocus 3 --highpassnyquist 2 in.mrc out.mrc", 64, "invalid deconv highpassnyquist '2'"),
            ("$B deconv --defocus 3 --phaseflipped yes in.mrc out.mrc", 64, "expected one of off, on"),
            ("$B deconv --defocus 3 --execution gpu in.mrc out.mrc", 64, "expected one of auto, memory, outofcore"),
        ]
        for (script, status, expected) in cases {
            let run = try shell(script)
            #expect(run.status == Int32(status), "\(script): \(run.status) \(run.stderr)")
            #expect(run.stderr.contains(expected), "\(script): \(run.stderr)")
        }
        // A header without a voxel size and no angpix: a usage error (64: give --angpix) naming the stage, no output.
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var h = MRCHeader()
        for (i, v) in [8, 8, 4, 2].enumerated() { h.setInt32(Int32(v), at: 4 * i) }
        for k in 0..<3 { h.setInt32(Int32(k + 1), at: 64 + 4 * k) }
        h.setBytes(Array("MAP ".utf8), at: 208)
        let run = try shell("$B deconv --defocus 3 - out.mrc", stdin: Data(h.bytes) + Data(count: 8 * 8 * 4 * 4), in: dir)
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains("stage deconv at setup: invalid deconv angpix '': expected a pixel size in Å (the input's header gives none)"), "\(run.stderr)")
        #expect(try files(in: dir).isEmpty)
        // In memory only, over budget: fails before reading, with the amount.
        h = MRCHeader()
        for (i, v) in [1024, 1024, 512, 2].enumerated() { h.setInt32(Int32(v), at: 4 * i) }
        for k in 0..<3 { h.setInt32(Int32(k + 1), at: 64 + 4 * k) }
        h.setBytes(Array("MAP ".utf8), at: 208)
        let over = try shell("$B deconv --defocus 3 --angpix 10 --execution memory --memory 256M > /dev/null", stdin: Data(h.bytes))
        #expect(over.status == 1)
        #expect(over.stderr.contains("deconv at least 2 GiB"), "\(over.stderr)")
    }
}
