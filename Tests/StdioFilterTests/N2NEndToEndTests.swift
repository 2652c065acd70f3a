import Foundation
import Testing

/// `synth --halves` and `n2n` through the built binary.
@Suite("n2n (built binary)")
struct N2NEndToEndTests {
    static let quick = "--steps 6 --patch 16 --tile 16 --halo 8"

    @Test("synth --halves: the same clean volume, independent noise of the same variance")
    func halves() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try shell("$B synth --quiet --size 48x40x32 --snr 0.5 a.mrc --halves b.mrc --clean c.mrc && $B synth --quiet --size 48x40x32 --snr 0.5 alone.mrc", in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        // The first half is the volume synth writes alone; the second differs only by its noise.
        #expect(try Data(contentsOf: dir.appendingPathComponent("a.mrc")).dropFirst(1024) == Data(contentsOf: dir.appendingPathComponent("alone.mrc")).dropFirst(1024))
        let check = try shell("""
            python3 -c "
            import mrcfile, numpy as np
            a, b, c = (mrcfile.read(n).astype(np.float64) for n in ('a.mrc', 'b.mrc', 'c.mrc'))
            na, nb = a - c, b - c
            print(np.corrcoef(na.ravel(), nb.ravel())[0, 1], na.var(), nb.var())"
            """, in: dir)
        try #require(check.status == 0, "\(check.stderr)")
        let numbers = String(decoding: check.stdout, as: UTF8.self).split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        try #require(numbers.count == 3)
        #expect(abs(numbers[0]) < 0.03, "noise correlation between halves \(numbers[0])")
        #expect(abs(numbers[1] / numbers[2] - 1) < 0.05 && abs(numbers[1] - 2) < 0.2, "noise variances \(numbers[1]) \(numbers[2]) (SNR 0.5: 2)")
    }

    @Test("n2n FIRST SECOND OUT equals the chain with --pair, either half from stdin or a FIFO; a saved model predicts the same")
    func pipesAndChain() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try shell("""
            $B synth --quiet --size 40x36x24 a.mrc --halves b.mrc &&
            $B n2n --quiet \(Self.quick) --save-model m.safetensors a.mrc b.mrc files.mrc &&
            $B n2n --quiet \(Self.quick) - b.mrc stdin-first.mrc < a.mrc &&
            $B n2n --quiet \(Self.quick) a.mrc - < b.mrc > stdin-second.mrc &&
            mkfifo second.fifo && (cat b.mrc > second.fifo &) && $B n2n --quiet \(Self.quick) --slab 3 --threads 1 a.mrc second.fifo fifo.mrc &&
            $B run --quiet --chain "n2n:steps=6:patch=16:tile=16:halo=8" --pair b.mrc a.mrc chain.mrc &&
            $B n2n --quiet --tile 16 --halo 8 --model m.safetensors a.mrc b.mrc model.mrc &&
            $B n2n --quiet --tile 16 --halo 8 --model m.safetensors b.mrc a.mrc swapped.mrc
            """, in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        func voxels(_ name: String) throws -> Data { try Data(contentsOf: dir.appendingPathComponent(name)).dropFirst(1024) }
        let reference = try voxels("files.mrc")
        for name in ["stdin-first.mrc", "stdin-second.mrc", "fifo.mrc", "chain.mrc", "model.mrc"] {
            #expect(try voxels(name) == reference, "\(name)")
        }
        let info = try shell("$B info model.mrc", in: dir)
        #expect(String(decoding: info.stdout, as: UTF8.self).contains("n2n"), "\(String(decoding: info.stdout, as: UTF8.self))")
        // The prediction is the mean of both halves' (equal up to rounding when they are swapped).
        let compare = try shell("python3 -c \"import mrcfile, numpy as np; print(np.abs(mrcfile.read('model.mrc') - mrcfile.read('swapped.mrc')).max())\"", in: dir)
        #expect((Double(String(decoding: compare.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1) < 1e-4, "\(compare.stderr)")
    }

    @Test("s2s on a tomogram with AreTomo3 or Warp halves beside it runs n2n on them (stderr says so); --halves none, a mask parameter or stdin keep s2s")
    func halvesBesideTheInput() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let quick = "--quiet \(Self.quick) --patches 8"
        let run = try shell("""
            $B synth --quiet --size 40x36x24 ts_Vol.mrc --halves ts_EVN_Vol.mrc &&
            $B synth --quiet --size 40x36x24 --seed 9 ts_ODD_Vol.mrc &&
            mkdir -p rec/even rec/odd && cp ts_EVN_Vol.mrc rec/even/t.mrc && cp ts_ODD_Vol.mrc rec/odd/t.mrc && cp ts_Vol.mrc rec/t.mrc &&
            $B n2n \(quick) ts_EVN_Vol.mrc ts_ODD_Vol.mrc n2n.mrc &&
            $B s2s \(Self.quick) --patches 8 ts_Vol.mrc aretomo.mrc 2> aretomo.log &&
            $B s2s \(quick) rec/t.mrc warp.mrc &&
            $B s2s \(quick) --halves none --distill 0 --samples 2 ts_Vol.mrc none.mrc &&
            $B s2s \(quick) --mask point --distill 0 --samples 2 ts_Vol.mrc point.mrc &&
            $B s2s \(quick) --mask point --distill 0 --samples 2 --halves none ts_Vol.mrc point-none.mrc &&
            $B s2s \(quick) --halves none - < ts_Vol.mrc > stdin-none.mrc &&
            $B s2s \(quick) - < ts_Vol.mrc > stdin.mrc
            """, in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        func voxels(_ name: String) throws -> Data { try Data(contentsOf: dir.appendingPathComponent(name)).dropFirst(1024) }
        let log = try String(contentsOf: dir.appendingPathComponent("aretomo.log"), encoding: .utf8)
        #expect(log.contains("two halves beside ts_Vol.mrc (AreTomo3)") && log.contains("ts_EVN_Vol.mrc and ts_ODD_Vol.mrc"), "\(log)")
        let reference = try voxels("n2n.mrc")
        #expect(try voxels("aretomo.mrc") == reference)
        #expect(try voxels("warp.mrc") == reference)
        // The user's choice: the input alone (masks, since this is no back-projection).
        #expect(try voxels("none.mrc") != reference)
        #expect(try voxels("point.mrc") == voxels("point-none.mrc"))
        #expect(try voxels("stdin.mrc") == voxels("stdin-none.mrc"))
    }

    @Test("a split run (--zrange parts with a saved model and stats) equals the single run")
    func splitRun() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let setup = try shell("""
            $B synth --quiet --size 40x36x40 a.mrc --halves b.mrc && $B n2n --quiet \(Self.quick) --save-model m.safetensors a.mrc b.mrc trained.mrc &&
            $B stats --quiet --json a.mrc > s.json
            """, in: dir)
        try #require(setup.status == 0, "\(setup.stderr)")
        try PartsEndToEndTests.expectPartsEqualWhole(
            "run --quiet --chain n2n:model=m.safetensors:stats=s.json:tile=16:halo=8 --pair b.mrc", parts: 3, in: dir, input: "a.mrc")
    }

    @Test("halves that differ (exit 1); a half nothing reads, n2n not first, a missing half, two stdins (usage, exit 64): one line, no output")
    func refusals() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let setup = try shell("$B synth --quiet --size 32x32x24 a.mrc --halves b.mrc && $B synth --quiet --size 32x32x20 short.mrc && $B synth --quiet --size 32x32x24 --angpix 8 fine.mrc", in: dir)
        try #require(setup.status == 0, "\(setup.stderr)")
        let short = try shell("$B n2n \(Self.quick) a.mrc short.mrc out.mrc", in: dir)
        #expect(short.status == 1 && short.stderr.contains("a.mrc and short.mrc are not two halves of one volume: sizes"), "\(short.status) \(short.stderr)")
        let fine = try shell("$B n2n \(Self.quick) a.mrc fine.mrc out.mrc", in: dir)
        #expect(fine.status == 1 && fine.stderr.contains("voxel sizes"), "\(fine.status) \(fine.stderr)")
        let one = try shell("$B n2n \(Self.quick) a.mrc", in: dir)
        #expect(one.status == 64 && one.stderr.contains("two inputs"), "\(one.status) \(one.stderr)")
        let unread = try shell("$B run --chain gaussian --pair b.mrc a.mrc out.mrc", in: dir)
        #expect(unread.status == 64 && unread.stderr.contains("takes two halves"), "\(unread.status) \(unread.stderr)")
        let later = try shell("$B run --chain gaussian,n2n --pair b.mrc a.mrc out.mrc", in: dir)
        #expect(later.status == 64 && later.stderr.contains("first in the chain"), "\(later.status) \(later.stderr)")
        let stdins = try shell("$B n2n \(Self.quick) - - out.mrc < a.mrc", in: dir)
        #expect(stdins.status == 64 && stdins.stderr.contains("only one input"), "\(stdins.status) \(stdins.stderr)")
        #expect(try !files(in: dir).contains("out.mrc"))
        // Every error is one line (usage errors: one line, then the usage).
        for result in [short, fine, unread, later] { #expect(result.errorLines.count == 1, "\(result.stderr)") }
        for result in [one, stdins] { #expect(result.errorLines.first?.hasPrefix("Error: ") == true, "\(result.stderr)") }
    }
}
