import Foundation
import Testing
import FilterKit

@Suite("stage chains (built binary)")
struct ChainEndToEndTests {
    func data(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)).suffix(from: 1024) }

    @Test("a | b through two processes equals run --chain a,b bit for bit", arguments: [
        ("gaussian --sigma 2x2x1 --boundary reflect", "bin --factor 2", "gaussian:sigma=2x2x1:boundary=reflect,bin:factor=2"),
        ("median --size 3", "normalize", "median:size=3,normalize"),
        ("crop --z 3..20 --x 5..40", "gaussian --sigma 1.5", "crop:z=3..20:x=5..40,gaussian:sigma=1.5"),
        // A whole-volume stage before a prepass stage: spooled once, not computed twice.
        ("deconv --defocus 3", "normalize", "deconv:defocus=3,normalize"),
    ])
    func pipesEqualChain(_ a: String, _ b: String, _ chain: String) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 48, y: 40, z: 24), in: dir)
        let piped = try shell("$B \(a) \(q(input)) | $B \(b) > piped.mrc", in: dir)
        #expect(piped.status == 0, "\(piped.stderr)")
        let chained = try shell("$B run --chain \(q(chain)) \(q(input)) chained.mrc", in: dir)
        #expect(chained.status == 0, "\(chained.stderr)")
        let p = try data(dir.appendingPathComponent("piped.mrc").path), c = try data(dir.appendingPathComponent("chained.mrc").path)
        #expect(p.count == c.count && p == c)
        // Slab thickness does not change the result either.
        let thin = try shell("$B run --slab 1 --chain \(q(chain)) \(q(input)) thin.mrc", in: dir)
        #expect(thin.status == 0)
        #expect(try data(dir.appendingPathComponent("thin.mrc").path) == c)
    }

    @Test("normalize gives the same output from a file and from a pipe (spooled to TMPDIR)")
    func normalizeFileAndPipe() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let spool = dir.appendingPathComponent("spool")
        try FileManager.default.createDirectory(at: spool, withIntermediateDirectories: true)
        let input = try makeVolume(Size3(x: 40, y: 30, z: 20), in: dir)
        for method in ["meanstd", "percentile"] {
            #expect(try shell("$B normalize --method \(method) \(q(input)) file.mrc", in: dir).status == 0)
            let piped = try shell("cat \(q(input)) | TMPDIR=\(q(spool.path)) $B normalize --method \(method) > pipe.mrc", in: dir)
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(try data(dir.appendingPathComponent("file.mrc").path) == data(dir.appendingPathComponent("pipe.mrc").path), "\(method)")
            #expect(try files(in: spool).isEmpty, "the spool file is gone")
        }
        let unwritable = try shell("cat \(q(input)) | TMPDIR=/proc $B normalize > x.mrc", in: dir)
        #expect(unwritable.status == 1)
        #expect(unwritable.stderr.contains("/proc: create a spool file for stdin (set TMPDIR to a writable directory) failed"), "\(unwritable.stderr)")
    }

    @Test("bad stage parameters are usage errors (64) that name the stage, the parameter and what is expected")
    func badParameters() throws {
        let cases = [
            ("$B gaussian --sigma -1 in.mrc out.mrc", "gaussian sigma '-1': expected a number in 0…256 voxels"),
            ("$B gaussian --sigma nan in.mrc out.mrc", "gaussian sigma 'nan'"),
            ("$B gaussian --sigma 1x2 in.mrc out.mrc", "gaussian sigma '1x2'"),
            ("$B gaussian --boundary mirror in.mrc out.mrc", "one of nearest, symmetric, reflect, zero, periodic"),
            ("$B gaussian --radius 3 in.mrc out.mrc", "invalid gaussian parameter 'radius': expected one of sigma, truncate, boundary"),
            ("$B median --size 4 in.mrc out.mrc", "median size '4'"),
            ("$B bin --factor 1.5 in.mrc out.mrc", "bin factor '1.5': expected whole numbers"),
            ("$B bin --factor 0 in.mrc out.mrc", "bin factor '0'"),
            ("$B crop --z 10..5 in.mrc out.mrc", "crop z '10..5'"),
            ("$B normalize --low 90 --high 10 in.mrc out.mrc", "low < high"),
            ("$B run --chain 'gaussian:sigma=2,blur' in.mrc out.mrc", "invalid stage 'blur': expected one of gaussian, median, bin, crop, normalize"),
            ("$B run --chain 'gaussian:sigma' in.mrc out.mrc", "expected name=value"),
            ("$B run --chain '' in.mrc out.mrc", "invalid chain"),
        ]
        for (script, expected) in cases {
            let run = try shell(script)
            #expect(run.status == 64, "\(script): \(run.status)")
            #expect(run.stderr.contains(expected), "\(script): \(run.stderr)")
        }
    }

    @Test("a chain that needs more than --memory fails before reading, with the amount")
    func overBudget() throws {
        var h = MRCHeader()
        for (i, v) in [8192, 8192, 16, 2].enumerated() { h.setInt32(Int32(v), at: 4 * i) }
        for k in 0..<3 { h.setInt32(Int32(k + 1), at: 64 + 4 * k) }
        h.setBytes(Array("MAP ".utf8), at: 208)
        // 256M runs it on bricks (below); 20M is less than even the smallest brick needs.
        let run = try shell("$B gaussian --sigma 2 --memory 20M > /dev/null", stdin: Data(h.bytes))
        #expect(run.status == 1)
        #expect(run.errorLines.count == 1)
        #expect(run.stderr.contains("the chain gaussian on 8192×8192×16 voxels (slabs of 1 section"), "\(run.stderr)")
        #expect(run.stderr.contains("or on bricks (bricks of 16×16 voxels"), "\(run.stderr)")
        #expect(run.stderr.contains("but the memory budget is 20 MiB (raise --memory)"))
    }

    @Test("sections larger than --memory run on bricks, from a file or a pipe, equal to whole sections; --brick forces them")
    func bricks() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 700, y: 650, z: 12), in: dir)
        let chain = "gaussian:sigma=2x1x2:boundary=reflect,median:size=3,bin:factor=2"
        let slabs = try shell("$B run --verbose --chain \(q(chain)) \(q(input)) slabs.mrc", in: dir)
        #expect(slabs.status == 0 && slabs.stderr.contains("memory plan within 256 MiB: slabs of"), "\(slabs.stderr)")
        let file = try shell("$B run --verbose --memory 40M --chain \(q(chain)) \(q(input)) file.mrc", in: dir)
        #expect(file.status == 0, "\(file.stderr)")
        #expect(file.stderr.contains("memory plan within 40 MiB: bricks of") && file.stderr.contains("whole sections need"), "\(file.stderr)")
        let pipe = try shell("cat \(q(input)) | $B run --quiet --memory 40M --chain \(q(chain)) > pipe.mrc", in: dir)
        #expect(pipe.status == 0, "\(pipe.stderr)")
        // int16 bricks placed into the file (encoded per brick) and assembled for stdout.
        let forced = try shell(
            "$B median --size 3 --mode 1 --brick 100x37 \(q(input)) forced.mrc && $B median --size 3 --mode 1 --brick 100x37 \(q(input)) > forced-stdout.mrc && $B median --size 3 --mode 1 \(q(input)) whole.mrc",
            in: dir)
        #expect(forced.status == 0, "\(forced.stderr)")
        // Bricks placed into a file output, or assembled in order for stdout: the same data and
        // the same header statistics (DMIN, DMAX, DMEAN, RMS) as whole sections.
        func statistics(_ name: String) throws -> Data {
            let header = try Data(contentsOf: dir.appendingPathComponent(name)).prefix(1024)
            return header[76..<88] + header[216..<220]
        }
        let reference = try data(dir.appendingPathComponent("slabs.mrc").path)
        for name in ["file.mrc", "pipe.mrc"] {
            #expect(try data(dir.appendingPathComponent(name).path) == reference, "\(name)")
            #expect(try statistics(name) == statistics("slabs.mrc"), "\(name)")
        }
        let whole = try data(dir.appendingPathComponent("whole.mrc").path)
        for name in ["forced.mrc", "forced-stdout.mrc"] {
            #expect(try data(dir.appendingPathComponent(name).path) == whole, "\(name)")
            #expect(try statistics(name) == statistics("whole.mrc"), "\(name)")
        }
        for bad in ["0", "12x", "axb", "-3x4"] {
            let refused = try shell("$B median --brick \(bad) \(q(input)) bad.mrc", in: dir)
            #expect(refused.status == 64, "--brick \(bad): \(refused.stderr)")
        }
    }

    @Test("no fixed floor on --memory: a small volume converts in 34M, too little gets the amount the plan needs, 0 is a usage error")
    func smallBudgets() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 16, y: 16, z: 8), in: dir)
        let fits = try shell("$B convert --memory 34M \(q(input)) out.mrc", in: dir)
        #expect(try fits.status == 0 && files(in: dir).contains("out.mrc"), "\(fits.stderr)")
        let tight = try shell("$B convert --memory 2M \(q(input)) tight.mrc", in: dir)
        #expect(tight.status == 1 && tight.errorLines.count == 1 && tight.stderr.contains("but the memory budget is 2 MiB (raise --memory)"), "\(tight.stderr)")
        #expect(try !files(in: dir).contains("tight.mrc"))
        let zero = try shell("$B convert --memory 0 \(q(input)) zero.mrc", in: dir)
        #expect(zero.status == 64 && zero.stderr.contains("--memory must be positive"), "\(zero.stderr)")
    }

    @Test("crop outside the volume is a usage error (64, found in setup) naming the stage and the volume's extent, leaving no file")
    func cropOutside() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 8, y: 8, z: 8), in: dir)
        let run = try shell("$B crop --z 4..20 \(q(input)) out.mrc", in: dir)
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains("stage crop at setup: invalid crop z '4..20': expected a range within the volume's 8 voxels"), "\(run.stderr)")
        #expect(try files(in: dir) == ["in.mrc"])
    }

    @Test("crop keeps the input's type; gaussian writes float32 unless --mode says otherwise")
    func outputTypes() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 8, y: 8, z: 8), in: dir, type: .int16)
        #expect(try shell("$B crop --x 0..4 \(q(input)) c.mrc && $B gaussian \(q(input)) g.mrc && $B gaussian --mode 1 \(q(input)) g1.mrc", in: dir).status == 0)
        func mode(_ name: String) throws -> Int { try MRCHeader(bytes: [UInt8](Data(contentsOf: dir.appendingPathComponent(name)).prefix(1024)), source: name).mode }
        #expect(try mode("c.mrc") == 1)
        #expect(try mode("g.mrc") == 2)
        #expect(try mode("g1.mrc") == 1)
    }

    @Test("list shows every stage with parameters, defaults and units")
    func list() throws {
        let out = String(decoding: try shell("$B list").stdout, as: UTF8.self)
        for name in ["gaussian:", "median:", "bin:", "crop:", "normalize:"] { #expect(out.contains(name)) }
        #expect(out.contains("sigma  (default 1 voxels)"))
        #expect(out.contains("boundary  (default nearest)"))
    }
}
