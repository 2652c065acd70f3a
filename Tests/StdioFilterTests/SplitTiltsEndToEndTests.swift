import Foundation
import Testing

/// `split-tilts` and `s2s --tilts` through the built binary, on small weighted back-projections
/// made here in numpy as `tools/reconstruct.py` makes them (ramp-filtered profiles, linear
/// interpolation, a crop off the rotation centre).
@Suite("split-tilts and s2s --tilts (built binary)")
struct SplitTiltsEndToEndTests {
    static let angles = "-57:63:15"

    /// Writes wbp.mrc (Z Y X = 64 × 16 × 128, tilt axis Y), its even and odd tilts' sums, the
    /// same three with X and Y swapped (tilt axis X) and a white-noise volume of the same size.
    static let makeVolumes = """
        python3 -c "
        import numpy as np, mrcfile
        rng = np.random.default_rng(4)
        nz, ny, nx, full_x, full_z, crop_x, crop_z = 64, 16, 128, 160, 80, 13, 7
        t = np.deg2rad(np.arange(-57, 64, 15.0))
        f = np.fft.rfftfreq(full_x)
        cx, cz = (full_x - 1) / 2, (full_z - 1) / 2
        X, Z = np.meshgrid(np.arange(crop_x, crop_x + nx) - cx, np.arange(crop_z, crop_z + nz) - cz)
        halves = [np.zeros((nz, ny, nx)), np.zeros((nz, ny, nx))]
        for k, a in enumerate(t):
            p = np.fft.irfft(np.fft.rfft(rng.standard_normal((ny, full_x)), axis=1) * f, n=full_x, axis=1)
            u = X * np.cos(a) + Z * np.sin(a) + cx
            u0 = np.floor(u).astype(int); w = u - u0
            halves[k % 2] += (p[:, u0] * (1 - w) + p[:, u0 + 1] * w).transpose(1, 0, 2)
        vols = {'wbp': halves[0] + halves[1], 'even': halves[0], 'odd': halves[1]}
        vols.update({n + '-t': np.ascontiguousarray(v.transpose(0, 2, 1)) for n, v in list(vols.items())})
        vols['white'] = rng.standard_normal((nz, ny, nx))
        for n, v in vols.items():
            with mrcfile.new(n + '.mrc', overwrite=True) as m: m.set_data(v.astype(np.float32)); m.voxel_size = 10
        "
        """

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

    @Test("--tilts auto finds the tilt series in the power spectrum, from a file or a pipe; none on a phantom")
    func automatic() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let quick = "--steps 4 --patch 16 --tile 16 --halo 8 --seed 3"
        let run = try shell("""
            \(Self.makeVolumes) &&
            $B split-tilts --tilts auto wbp-t.mrc a-t.mrc b-t.mrc 2> log.txt &&
            $B s2s --tilts auto \(quick) < wbp.mrc > piped.mrc 2> piped.txt &&
            $B s2s --quiet --tilts auto \(quick) wbp.mrc file.mrc &&
            $B synth --quiet --size 48x48x32 phantom.mrc
            """, in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        let log = try String(contentsOf: dir.appendingPathComponent("log.txt"), encoding: .utf8)
        #expect(log.contains("found 9 tilts about X"), "\(log)")
        let errors = try Self.relativeErrors([("a-t.mrc", "even-t.mrc"), ("b-t.mrc", "odd-t.mrc")], in: dir)
        #expect(errors.count == 2 && errors.allSatisfy { $0 < 0.08 }, "relative errors \(errors)")
        let said = try String(contentsOf: dir.appendingPathComponent("piped.txt"), encoding: .utf8)
        #expect(said.contains("found 9 tilts about Y") && said.contains("two halves") && said.contains("experimental"), "\(said)")
        let bytes = { (name: String) in try Data(contentsOf: dir.appendingPathComponent(name)).dropFirst(1024) }
        #expect(try bytes("piped.mrc") == bytes("file.mrc"))
        // A phantom is no back-projection: refused, nothing written.
        for command in ["split-tilts --tilts auto phantom.mrc x.mrc y.mrc", "s2s --tilts auto \(quick) phantom.mrc x.mrc"] {
            let refused = try shell("$B \(command)", in: dir)
            #expect(refused.status == 1 && refused.stderr.contains("no tilt series"), "\(command): \(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.mrc").path))
        }
    }

    @Test("s2s --tilts is n2n on the split halves, bit for bit; parameters that do not apply are refused")
    func s2sWithTilts() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let quick = "--steps 4 --patch 16 --tile 16 --halo 8 --seed 3"
        let run = try shell("""
            \(Self.makeVolumes) && mkdir tmp && export TMPDIR="$PWD/tmp" &&
            $B s2s --tilts \(Self.angles) \(quick) wbp.mrc s2s.mrc 2> log.txt &&
            $B split-tilts --quiet --tilts \(Self.angles) wbp.mrc a.mrc b.mrc &&
            $B n2n --quiet \(quick) a.mrc b.mrc n2n.mrc &&
            $B s2s --quiet --tilts \(Self.angles) \(quick) < wbp.mrc > piped.mrc
            """, in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        let log = try String(contentsOf: dir.appendingPathComponent("log.txt"), encoding: .utf8)
        #expect(log.contains("tilt axis Y"), "\(log)")
        for name in ["s2s.mrc", "piped.mrc"] {
            let (ours, theirs) = (try Data(contentsOf: dir.appendingPathComponent(name)), try Data(contentsOf: dir.appendingPathComponent("n2n.mrc")))
            #expect(ours.count == theirs.count && ours.dropFirst(1024) == theirs.dropFirst(1024), "\(name): the voxels of n2n on the halves")
        }
        // No halves left behind in $TMPDIR.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("tmp").path)
        #expect(leftovers.isEmpty, "\(leftovers)")

        for (arguments, status, words) in [
            ("s2s --tilts \(Self.angles) --mask xline wbp.mrc out.mrc", Int32(64), "--mask does not apply"),
            ("s2s --tilts \(Self.angles) --tilt-axis z wbp.mrc out.mrc", 64, "tilt-axis"),
            ("run --chain s2s:tilts=wbp.tlt wbp.mrc out.mrc", 64, "split-tilts first"),
            ("s2s --tilts \(Self.angles) \(quick) white.mrc out.mrc", 1, "white.mrc"),
            ("split-tilts --tilts \(Self.angles) white.mrc out.mrc out2.mrc", 1, "residual"),
            ("split-tilts --tilts -60:60:0 wbp.mrc out.mrc out2.mrc", 64, "FIRST:LAST:STEP"),
            ("s2s --tilts \(Self.angles) \(quick) wbp.mrc wbp.mrc", 1, "input"),
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
