import Foundation
import Testing
import FilterKit

/// TIFF through the built binary: format choice by extension or magic, pipes both ways, voxel
/// size carried both ways, compression, and what ImageJ-reading software (tifffile) sees.
@Suite("TIFF (built binary)")
struct TIFFEndToEndTests {
    static let tifffileAvailable: Bool = (try? shell("python3 -c 'import tifffile, numpy'").status) == 0

    func voxelSize(_ path: String, in dir: URL) throws -> String {
        let run = try shell("$B info --json \(q(path)) | grep voxel_size", in: dir)
        return String(decoding: run.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("MRC → TIFF → MRC keeps every value and the voxel size; stdin/stdout work both ways")
    func roundTrips() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 40, y: 30, z: 7), in: dir)
        let steps = [
            "$B convert in.mrc a.tif",
            "$B convert a.tif b.mrc",
            "$B convert --format tiff < in.mrc > c.tif",
            "$B convert < c.tif > d.mrc",
            "cat a.tif | $B convert --compression deflate - e.tif",
            "$B convert e.tif f.mrc",
        ]
        for step in steps {
            let run = try shell(step, in: dir)
            #expect(run.status == 0, "\(step): \(run.stderr)")
        }
        let original = try Data(contentsOf: URL(fileURLWithPath: input)).suffix(from: 1024)
        for name in ["b.mrc", "d.mrc", "f.mrc"] {
            #expect(try Data(contentsOf: dir.appendingPathComponent(name)).suffix(from: 1024) == original, Comment(rawValue: name))
            #expect(try voxelSize(name, in: dir) == "\"voxel_size\": [4.5, 4.5, 4.5],", Comment(rawValue: name))
        }
        #expect(try Data(contentsOf: dir.appendingPathComponent("a.tif")) == Data(contentsOf: dir.appendingPathComponent("c.tif")), "a file and stdout get the same TIFF")
        #expect(try files(in: dir) == ["a.tif", "b.mrc", "c.tif", "d.mrc", "e.tif", "f.mrc", "in.mrc"])
    }

    @Test("tifffile opens our output as an ImageJ Z stack with the voxel size in nm")
    func readableByImageJTools() throws {
        guard Self.tifffileAvailable else {
            print("skipped: python3 with tifffile is not installed")
            return
        }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try makeVolume(Size3(x: 40, y: 30, z: 7), in: dir)
        for (name, extra) in [("plain.tif", ""), ("zstd.tif", "--compression zstd"), ("lzw16.tif", "--compression lzw --type int16")] {
            #expect(try shell("$B convert \(extra) in.mrc \(name)", in: dir).status == 0)
            let script = """
                import sys, tifffile, mrcfile, numpy as np
                with tifffile.TiffFile(sys.argv[1]) as t:
                    ij = t.imagej_metadata; s = t.series[0]; d = s.asarray()
                    x = t.pages[0].tags['XResolution'].value
                ref = mrcfile.read('in.mrc')
                assert s.axes == 'ZYX' and d.shape == (7, 30, 40), (s.axes, d.shape)
                assert ij['slices'] == 7 and ij['unit'] == 'nm' and abs(ij['spacing'] - 0.45) < 1e-6, ij
                assert abs(x[1] / x[0] - 0.45) < 1e-6, x
                assert np.allclose(d, np.round(ref) if d.dtype.kind == 'i' else ref), 'values'
                """
            let run = try shell("python3 -c \(q(script)) \(name)", in: dir)
            #expect(run.status == 0, "\(name): \(run.stderr)")
        }
    }

    @Test("a chain reads TIFF and writes TIFF")
    func chain() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try makeVolume(Size3(x: 32, y: 24, z: 8), in: dir)
        #expect(try shell("$B convert in.mrc in.tif && $B run --chain deconv:defocus=2,bin:factor=2 in.tif out.tif && $B run --chain deconv:defocus=2,bin:factor=2 in.mrc out.mrc", in: dir).status == 0)
        #expect(try shell("$B convert out.tif out2.mrc", in: dir).status == 0)
        #expect(try Data(contentsOf: dir.appendingPathComponent("out2.mrc")).suffix(from: 1024) == Data(contentsOf: dir.appendingPathComponent("out.mrc")).suffix(from: 1024))
        #expect(try voxelSize("out.tif", in: dir) == "\"voxel_size\": [9.0, 9.0, 9.0],")
    }

    @Test("refusals: RGB pages, a format that contradicts the name, MRC-only options; nothing is left behind")
    func refusals() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try makeVolume(Size3(x: 8, y: 8, z: 2), in: dir)
        var cases = [
            ("$B convert --format mrc in.mrc out.tif", Int32(64), "--format mrc contradicts the output name out.tif"),
            ("$B convert --compression zstd in.mrc out.mrc", 64, "compression 'zstd': expected none for MRC output"),
            ("$B convert --channel 2 in.mrc out.mrc", 64, "expected not for MRC input"),
            ("$B convert --channel 0 in.mrc out.tif", 64, "--channel counts from 1"),
        ]
        // A TIFF cut in half (libtiff writes each IFD after its page): refused naming the page, no output.
        #expect(try shell("$B convert in.mrc whole.tif && head -c $(( $(stat -c %s whole.tif) / 2 )) whole.tif > cut.tif && rm whole.tif", in: dir).status == 0)
        cases.append(("$B convert cut.tif out.mrc", 1, "cut.tif: page 1: its directory cannot be read"))
        if let corpus = sharedCorpus?.deletingLastPathComponent().appendingPathComponent("tiff/real/imagetiff__BigTIFF.tif") {
            cases.append(("$B convert \(q(corpus.path)) out.mrc", 1, "has 3 samples per pixel"))
        }
        if Self.tifffileAvailable {
            let script = "import tifffile, numpy as np; w = tifffile.TiffWriter('mixed.tif'); w.write(np.zeros((8, 8), np.uint16)); w.write(np.zeros((8, 9), np.uint16)); w.close()"
            #expect(try shell("python3 -c \(q(script))", in: dir).status == 0)
            cases.append(("$B convert mixed.tif out.mrc", 1, "mixed.tif: page 1 is 9×8 uint16 but page 0 is 8×8 uint16; a stack's pages must share size and type"))
        }
        for (script, status, message) in cases {
            let run = try shell(script, in: dir)
            #expect(run.status == status, "\(script): \(run.status) \(run.stderr)")
            #expect(run.stderr.contains(message), "\(script): \(run.stderr)")
            #expect(run.errorLines.filter { $0.contains("error:") }.count == 1 || status == 64, "\(script): \(run.stderr)")
        }
        #expect(try files(in: dir).filter { $0 != "mixed.tif" && $0 != "cut.tif" } == ["in.mrc"])
    }

    @Test("a 3-D array saved by tifffile without axes (channels=N, slices=1): one warning line, --channels-as-z reads N sections")
    func channelStackFromTifffile() throws {
        guard Self.tifffileAvailable else {
            print("skipped: python3 with tifffile is not installed")
            return
        }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = """
            import tifffile, numpy as np
            a = np.arange(6 * 5 * 4, dtype=np.float32).reshape(6, 5, 4)
            tifffile.imwrite('stack.tif', a, imagej=True)
            assert tifffile.TiffFile('stack.tif').imagej_metadata.get('channels') == 6
            """
        let made = try shell("python3 -c \(q(script))", in: dir)
        #expect(made.status == 0, "\(made.stderr)")
        let plain = try shell("$B info --json stack.tif", in: dir)
        #expect(plain.status == 0)
        let warnings = plain.errorLines.filter { $0.contains("6 channels of one slice") }
        #expect(warnings.count == 1, "\(plain.stderr)")
        #expect(warnings.first?.contains("--channels-as-z reads the 6 channels as Z sections") == true, "\(plain.stderr)")
        #expect(String(decoding: plain.stdout, as: UTF8.self).contains("\"size\": [4, 5, 1]"), "\(String(decoding: plain.stdout, as: UTF8.self))")

        let asZ = try shell("$B convert --channels-as-z stack.tif out.mrc && python3 -c 'import mrcfile, numpy as np; d = mrcfile.read(\"out.mrc\"); assert d.shape == (6, 5, 4) and (d.ravel() == np.arange(120)).all(), d.shape'", in: dir)
        #expect(asZ.status == 0, "\(asZ.stderr)")
        #expect(!asZ.stderr.contains("channels of one slice"), "\(asZ.stderr)")
        let refused = try shell("$B convert --channels-as-z stack.tif --channel 2 out2.mrc", in: dir)
        #expect(refused.status != 0 && refused.stderr.contains("channels-as-z"), "\(refused.stderr)")
    }
}
