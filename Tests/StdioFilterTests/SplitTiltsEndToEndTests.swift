import Foundation
import Testing

/// `split-tilts` and `s2s --tilts` through the built binary, on small weighted back-projections
/// made here in numpy as `tools/reconstruct.py` makes them (ramp-filtered profiles, linear
/// interpolation, a crop off the rotation centre).
@Suite("split-tilts and s2s --tilts (built binary)")
struct SplitTiltsEndToEndTests {
    static let angles = "-57:63:15"

    /// `python3 -c` running `body` after the helpers both volumes' scripts use: `grid` (the crop's
    /// X and Z measured from the centre of a larger reconstruction, cut at `crop_x`, `crop_z`),
    /// `ramp` (the ramp filter of profiles along X), `back_project` (a tilt's profiles linearly
    /// interpolated at u = X cos a + Z sin a + centre, as `tools/reconstruct.py` does) and `save`.
    static func python(_ body: String) -> String {
        """
        python3 -c "
        import numpy as np, mrcfile
        def grid(nx, nz, full_x, full_z, crop_x, crop_z):
            cx, cz = (full_x - 1) / 2, (full_z - 1) / 2
            X, Z = np.meshgrid(np.arange(crop_x, crop_x + nx) - cx, np.arange(crop_z, crop_z + nz) - cz)
            return X, Z, cx
        def ramp(p):
            return np.fft.irfft(np.fft.rfft(p, axis=1) * np.fft.rfftfreq(p.shape[1]), n=p.shape[1], axis=1)
        def back_project(p, a, X, Z, cx):
            u = X * np.cos(a) + Z * np.sin(a) + cx
            u0 = np.floor(u).astype(int); w = u - u0
            return (p[:, u0] * (1 - w) + p[:, u0 + 1] * w).transpose(1, 0, 2)
        def save(vols):
            for n, v in vols.items():
                with mrcfile.new(n + '.mrc', overwrite=True) as m: m.set_data(v.astype(np.float32)); m.voxel_size = 10
        \(body)
        "
        """
    }

    /// Writes wbp.mrc (Z Y X = 64 × 16 × 128, tilt axis Y), its even and odd tilts' sums, the
    /// same three with X and Y swapped (tilt axis X) and a white-noise volume of the same size.
    static let makeVolumes = python("""
        rng = np.random.default_rng(4)
        nz, ny, nx, full_x = 64, 16, 128, 160
        X, Z, cx = grid(nx, nz, full_x, 80, 13, 7)
        halves = [np.zeros((nz, ny, nx)), np.zeros((nz, ny, nx))]
        for k, a in enumerate(np.deg2rad(np.arange(-57, 64, 15.0))):
            halves[k % 2] += back_project(ramp(rng.standard_normal((ny, full_x))), a, X, Z, cx)
        vols = {'wbp': halves[0] + halves[1], 'even': halves[0], 'odd': halves[1]}
        vols.update({n + '-t': np.ascontiguousarray(v.transpose(0, 2, 1)) for n, v in list(vols.items())})
        vols['white'] = rng.standard_normal((nz, ny, nx))
        save(vols)
        """)

    /// Relative errors ‖a − 2·truth‖ / ‖2·truth‖ of split halves, printed by numpy.
    static func relativeErrors(_ pairs: [(String, String)], in dir: URL) throws -> [Double] {
        let list = pairs.map { "('\($0.0)', '\($0.1)')" }.joined(separator: ", ")
        let run = try shell("""
            python3 -c "
            import numpy as np, mrcfile
            for a, b in [\(list)]:
                x, y = mrcfile.read(a).astype(float), 2 * mrcfile.read(b).astype(float)
                print(np.linalg.norm(x - y) / np.linalg.norm(y))"
            """, in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        return String(decoding: run.stdout, as: UTF8.self).split(separator: "\n").compactMap { Double($0) }
    }

    /// ‖a − b‖ / ‖b‖ of two volumes, by numpy.
    static func relativeDifference(_ a: String, _ b: String, in dir: URL) throws -> Double {
        let run = try shell("""
            python3 -c "
            import numpy as np, mrcfile
            a, b = mrcfile.read('\(a)').astype(float), mrcfile.read('\(b)').astype(float)
            print(np.linalg.norm(a - b) / np.linalg.norm(b))"
            """, in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        return Double(String(decoding: run.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1
    }

    @Test("split-tilts gives the even and odd tilts' reconstructions, whichever axis the tilt runs along")
    func splitsBothOrientations() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try shell("""
            \(Self.makeVolumes) &&
            $B split-tilts --tilts \(Self.angles) wbp.mrc a.mrc b.mrc 2> log.txt &&
            $B split-tilts --quiet --tilts \(Self.angles) wbp-t.mrc a-t.mrc b-t.mrc
            """, in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        let log = try String(contentsOf: dir.appendingPathComponent("log.txt"), encoding: .utf8)
        #expect(log.contains("tilt axis Y") && log.contains("residual"), "\(log)")
        let errors = try Self.relativeErrors([("a.mrc", "even.mrc"), ("b.mrc", "odd.mrc"), ("a-t.mrc", "even-t.mrc"), ("b-t.mrc", "odd-t.mrc")], in: dir)
        try #require(errors.count == 4)
        #expect(errors.allSatisfy { $0 < 0.08 }, "relative errors \(errors)")
        // The transposed volume's halves are the transposed halves.
        let same = try shell("""
            python3 -c "
            import numpy as np, mrcfile
            a, at = mrcfile.read('a.mrc'), mrcfile.read('a-t.mrc')
            print(np.abs(a.transpose(0, 2, 1) - at).max() / np.abs(a).max())"
            """, in: dir)
        let difference = Double(String(decoding: same.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1
        #expect(difference < 0.01, "transposed input → transposed halves, max difference \(difference)")
    }

    /// Writes signal.mrc (Z Y X = 64 × 32 × 128, tilt axis Y): the back-projection of 17 tilts of
    /// Gaussian blobs plus ramp-filtered noise at SNR about 0.05, and clean.mrc, the same without noise.
    static let makeSignal = python("""
        rng = np.random.default_rng(7)
        nz, ny, nx, full_x = 64, 32, 128, 160
        X, Z, cx = grid(nx, nz, full_x, 80, 13, 7)
        blobs = [(rng.uniform(-50, 50), rng.uniform(-20, 20), rng.uniform(4, 28), rng.uniform(2, 5)) for _ in range(24)]
        uu, yy = np.arange(full_x) - cx, np.arange(ny)[:, None]
        clean, noisy = np.zeros((nz, ny, nx)), np.zeros((nz, ny, nx))
        for a in np.deg2rad(np.arange(-60, 61, 7.5)):
            s = sum(np.exp(-(uu - bx * np.cos(a) - bz * np.sin(a)) ** 2 / (2 * w * w) - (yy - by) ** 2 / (2 * w * w)) for bx, bz, by, w in blobs)
            clean += back_project(ramp(s), a, X, Z, cx)
            noisy += back_project(ramp(s + 0.6 * rng.standard_normal((ny, full_x))), a, X, Z, cx)
        save({'clean': clean, 'signal': noisy})
        """)

    /// Pearson correlations of volumes with clean.mrc, printed by numpy.
    static func correlationsWithClean(_ names: [String], in dir: URL) throws -> [Double] {
        let list = names.map { "'\($0)'" }.joined(separator: ", ")
        let run = try shell("""
            python3 -c "
            import numpy as np, mrcfile
            c = mrcfile.read('clean.mrc').astype(float).ravel()
            for n in [\(list)]: print(np.corrcoef(c, mrcfile.read(n).astype(float).ravel())[0, 1])"
            """, in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        return String(decoding: run.stdout, as: UTF8.self).split(separator: "\n").compactMap { Double($0) }
    }

    @Test("--tilts auto finds the tilt series in the power spectrum; s2s splits a back-projection by default, from a file or a pipe, and uses masks on a phantom")
    func automatic() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let quick = "--steps 4 --patch 16 --tile 16 --halo 8 --seed 3 --distill 0"
        let run = try shell("""
            \(Self.makeVolumes) &&
            $B split-tilts --tilts auto wbp-t.mrc a-t.mrc b-t.mrc 2> log.txt &&
            $B s2s --split-refine filter < wbp.mrc > piped.mrc 2> piped.txt &&
            $B s2s --split-refine filter --memory 42M < wbp.mrc > piped-ooc.mrc 2> piped-ooc.txt &&
            $B s2s --split-refine filter --quiet --tilts auto wbp.mrc file.mrc &&
            $B s2s --split-refine filter --tilts detect \(quick) wbp.mrc detect.mrc 2> detect.txt &&
            $B synth --quiet --size 48x48x32 phantom.mrc &&
            $B s2s --tilts detect \(quick) phantom.mrc masks.mrc 2> masks.txt
            """, in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        let log = try String(contentsOf: dir.appendingPathComponent("log.txt"), encoding: .utf8)
        #expect(log.contains("found 9 tilts about X"), "\(log)")
        let errors = try Self.relativeErrors([("a-t.mrc", "even-t.mrc"), ("b-t.mrc", "odd-t.mrc")], in: dir)
        #expect(errors.count == 2 && errors.allSatisfy { $0 < 0.08 }, "relative errors \(errors)")
        let said = try String(contentsOf: dir.appendingPathComponent("piped.txt"), encoding: .utf8)
        #expect(said.contains("found 9 tilts about Y") && said.contains("weighted back-projection"), "\(said)")
        let bytes = { (name: String) in try Data(contentsOf: dir.appendingPathComponent(name)).dropFirst(1024) }
        #expect(try bytes("piped.mrc") == bytes("file.mrc"))
        #expect(try bytes("detect.mrc") == bytes("file.mrc"))
        // The geometry the probe found, then the split out of core (the budget too small for it
        // in memory): the same to float rounding.
        let ooc = try String(contentsOf: dir.appendingPathComponent("piped-ooc.txt"), encoding: .utf8)
        #expect(ooc.contains("weighted back-projection") && ooc.contains("out of core: bands of"), "\(ooc)")
        let difference = try Self.relativeDifference("piped-ooc.mrc", "piped.mrc", in: dir)
        #expect(difference < 1e-5, "out of core against in memory: relative difference \(difference)")
        let detect = try String(contentsOf: dir.appendingPathComponent("detect.txt"), encoding: .utf8)
        #expect(detect.contains("--steps and 5 more network parameters set masks") && detect.contains("ignored"), "\(detect)")
        // A phantom is no back-projection: masks with --tilts detect, refused with --tilts auto.
        let masks = try String(contentsOf: dir.appendingPathComponent("masks.txt"), encoding: .utf8)
        #expect(masks.contains("masks: not a weighted back-projection") && masks.contains("blind region"), "\(masks)")
        for command in ["split-tilts --tilts auto phantom.mrc x.mrc y.mrc", "s2s --tilts auto phantom.mrc x.mrc"] {
            let refused = try shell("$B \(command)", in: dir)
            #expect(refused.status == 1 && refused.stderr.contains("no tilt series"), "\(command): \(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.mrc").path))
        }
    }

    @Test("s2s --tilts keeps what the split halves share and removes the rest; the same in a chain; parameters that do not apply are refused")
    func s2sWithTilts() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try shell("""
            \(Self.makeVolumes) && \(Self.makeSignal) && mkdir tmp && export TMPDIR="$PWD/tmp" &&
            $B s2s --split-refine filter --tilts -60:60:7.5 signal.mrc s2s.mrc 2> log.txt &&
            $B gaussian --quiet --sigma 1 signal.mrc gauss1.mrc &&
            printf '%s\\n' -60 -52.5 -45 -37.5 -30 -22.5 -15 -7.5 0 7.5 15 22.5 30 37.5 45 52.5 60 > signal.tlt &&
            $B run --quiet --chain s2s:tilts=signal.tlt:split-refine=filter signal.mrc chain.mrc &&
            $B s2s --split-refine filter --quiet --tilts \(Self.angles) wbp.mrc noise.mrc &&
            $B s2s --split-refine filter --memory 43M --tilts -60:60:7.5 signal.mrc ooc.mrc 2> ooc.txt
            """, in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        let log = try String(contentsOf: dir.appendingPathComponent("log.txt"), encoding: .utf8)
        #expect(log.contains("tilt axis Y") && log.contains("signal"), "\(log)")
        // (Measured: 0.19 → 0.88, the Gaussian of σ 1 0.77; one of σ 2 reaches 0.93 on these
        // Gaussian blobs, the shape a Gaussian filter suits best.)
        let scores = try Self.correlationsWithClean(["signal.mrc", "s2s.mrc", "gauss1.mrc"], in: dir)
        try #require(scores.count == 3)
        #expect(scores[1] > scores[0] + 0.5 && scores[1] > scores[2] + 0.05, "correlation with the clean volume: input, s2s, Gaussian σ 1: \(scores)")
        let bytes = { (name: String) in try Data(contentsOf: dir.appendingPathComponent(name)).dropFirst(1024) }
        #expect(try bytes("chain.mrc") == bytes("s2s.mrc"), "the stage in a chain == the command")
        // Over the memory budget: out of core, the same result to float rounding.
        let ooc = try String(contentsOf: dir.appendingPathComponent("ooc.txt"), encoding: .utf8)
        #expect(ooc.contains("out of core: bands of"), "\(ooc)")
        let difference = try Self.relativeDifference("ooc.mrc", "s2s.mrc", in: dir)
        #expect(difference < 1e-5, "out of core against in memory: relative difference \(difference)")
        // Pure noise (the halves share nothing): almost nothing is kept.
        let kept = try shell("""
            python3 -c "
            import mrcfile; print(mrcfile.read('noise.mrc').std() / mrcfile.read('wbp.mrc').std())"
            """, in: dir)
        let ratio = Double(String(decoding: kept.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1
        #expect(ratio < 0.2, "noise kept: \(ratio) of its standard deviation")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("tmp").path)
        #expect(leftovers.isEmpty, "\(leftovers)")

        // Windows of sections: 64 sections in two windows of 48, each split on its own, denoise
        // as well.
        let windowed = try shell("$B s2s --split-refine filter --tilts -60:60:7.5 --split-depth 48 signal.mrc windowed.mrc", in: dir)
        #expect(windowed.status == 0, "\(windowed.stderr)")
        #expect(windowed.stderr.contains("in 2 windows of sections along Z: 0..<48, 16..<64"), "\(windowed.stderr)")
        let windowedScores = try Self.correlationsWithClean(["signal.mrc", "windowed.mrc"], in: dir)
        #expect(windowedScores.count == 2 && windowedScores[1] > windowedScores[0] + 0.5, "correlation with the clean volume: input, windows: \(windowedScores)")
        let windowDifference = try Self.relativeDifference("windowed.mrc", "s2s.mrc", in: dir)
        #expect(windowDifference > 1e-4, "windows against one: relative difference \(windowDifference)")

        // The default: a network trained on the halves away from the band along the tilt axis (a
        // short training); in windows, trained on the first and reused by the second; out of
        // core, the filter alone, and said so.
        let refined = try shell("""
            $B s2s --tilts -60:60:7.5 --split-steps 40 signal.mrc refined.mrc 2> refined.txt &&
            $B s2s --tilts -60:60:7.5 --split-steps 40 --split-depth 48 signal.mrc refined-windows.mrc 2> refined-windows.txt &&
            $B s2s --tilts -60:60:7.5 --memory 43M signal.mrc refined-ooc.mrc 2> refined-ooc.txt
            """, in: dir)
        #expect(refined.status == 0, "\(refined.stderr)")
        let said = { (name: String) in (try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)) ?? "" }
        #expect(said("refined.txt").contains("denoised without the band along the tilt axis by a network trained on the halves"), "\(said("refined.txt"))")
        let windowsSaid = said("refined-windows.txt")
        #expect(windowsSaid.contains("in 2 windows of sections along Z") && windowsSaid.components(separatedBy: "denoised without the band").count == 3, "\(windowsSaid)")
        #expect(windowsSaid.components(separatedBy: "training the").count == 2 && windowsSaid.contains("the network trained on the first window's halves predicts this one"), "\(windowsSaid)")
        #expect(said("refined-ooc.txt").contains("out of core: filtered by the shared spectrum only"), "\(said("refined-ooc.txt"))")
        let refinedScores = try Self.correlationsWithClean(["signal.mrc", "refined.mrc", "refined-windows.mrc"], in: dir)
        #expect(refinedScores.count == 3 && refinedScores[1] > refinedScores[0] + 0.3 && refinedScores[2] > refinedScores[0] + 0.3,
                "correlation with the clean volume: input, refined, refined in windows: \(refinedScores)")
        #expect(try Self.relativeDifference("refined-ooc.mrc", "s2s.mrc", in: dir) < 1e-5, "out of core with the default: the filter")

        for (arguments, status, words) in [
            ("s2s --split-depth 4 wbp.mrc out.mrc", Int32(64), "split-depth"),
            ("s2s --tilts \(Self.angles) --mask xline wbp.mrc out.mrc", Int32(64), "no network parameter with --tilts"),
            ("s2s --tilts \(Self.angles) --tilt-axis z wbp.mrc out.mrc", 64, "tilt-axis"),
            ("s2s --tilts \(Self.angles) white.mrc out.mrc", 1, "residual"),
            ("split-tilts --tilts \(Self.angles) white.mrc out.mrc out2.mrc", 1, "residual"),
            ("split-tilts --tilts -60:60:0 wbp.mrc out.mrc out2.mrc", 64, "FIRST:LAST:STEP"),
            ("s2s --tilts \(Self.angles) wbp.mrc wbp.mrc", 1, "input"),
        ] {
            let result = try shell("$B \(arguments)", in: dir)
            #expect(result.status == status, "\(arguments): status \(result.status): \(result.stderr)")
            #expect(result.stderr.contains(words), "\(arguments): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out.mrc").path), "\(arguments) left an output")
        }
        // The input refused as the output is unchanged.
        let check = try shell("python3 -c \"import mrcfile; print(mrcfile.read('wbp.mrc').shape)\"", in: dir)
        #expect(String(decoding: check.stdout, as: UTF8.self).contains("(64, 16, 128)"))
    }
}
