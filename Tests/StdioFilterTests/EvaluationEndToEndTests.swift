import CPNG
import FilterKit
import Foundation
import Testing

/// `synth`, `score` and `preview` through the built binary.
@Suite("synth, score, preview (built binary)")
struct EvaluationEndToEndTests {
    static let tuning: URL? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = root.deletingLastPathComponent().appendingPathComponent("shared/data")
        return FileManager.default.fileExists(atPath: data.appendingPathComponent("tune_tomo/clean.mrc").path) ? data : nil
    }()
    static let metricsScript: URL? = tuning?.deletingLastPathComponent().appendingPathComponent("tools/metrics.py")
    static let metricsAvailable: Bool = (try? shell("python3 -c 'import numpy, scipy, skimage, mrcfile'").status) == 0

    /// The voxels of an MRC file (float32, no extended header).
    static func voxels(_ path: String) throws -> (Size3, [Float]) {
        let reader = try MRCReader(source: InputSource.open(path))
        let size = reader.info.size
        var values = [Float](repeating: 0, count: size.voxelCount)
        try values.withUnsafeMutableBufferPointer { try reader.readSections(0..<size.z, into: $0.baseAddress!) }
        return (size, values)
    }

    @Test("synth is deterministic: the same seed gives the same voxels on 1 or 2 threads, another seed others")
    func deterministic() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try shell("""
            $B synth --quiet --size 70x50x40 --seed 5 --threads 1 a.mrc --clean ca.mrc &&
            $B synth --quiet --size 70x50x40 --seed 5 --threads 2 b.mrc --clean cb.mrc &&
            $B synth --quiet --size 70x50x40 --seed 6 c.mrc
            """, in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        let (_, a) = try Self.voxels(dir.appendingPathComponent("a.mrc").path)
        let (_, b) = try Self.voxels(dir.appendingPathComponent("b.mrc").path)
        let (_, c) = try Self.voxels(dir.appendingPathComponent("c.mrc").path)
        let (_, ca) = try Self.voxels(dir.appendingPathComponent("ca.mrc").path)
        let (_, cb) = try Self.voxels(dir.appendingPathComponent("cb.mrc").path)
        #expect(a == b)
        #expect(ca == cb)
        #expect(a != c)
        #expect(a != ca)
    }

    @Test("synth: the clean volume is standardised, the noise has variance 1/SNR, tomographic noise is anti-correlated along X only")
    func noiseStatistics() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try shell("$B synth --quiet --size 96x96x64 --snr 0.25 noisy.mrc --clean clean.mrc && $B synth --quiet --size 96x96x64 --snr 0.25 --noise white white.mrc", in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        let (size, noisy) = try Self.voxels(dir.appendingPathComponent("noisy.mrc").path)
        let (_, clean) = try Self.voxels(dir.appendingPathComponent("clean.mrc").path)
        let (_, white) = try Self.voxels(dir.appendingPathComponent("white.mrc").path)
        func moments(_ v: [Double]) -> (Double, Double) {
            let m = v.reduce(0, +) / Double(v.count)
            return (m, v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count))
        }
        func lag1(_ v: [Double], stride: Int, along n: Int) -> Double {
            let (m, variance) = moments(v)
            var sum = 0.0, count = 0
            for i in v.indices where (i / stride) % n != n - 1 {
                sum += (v[i] - m) * (v[i + stride] - m)
                count += 1
            }
            return sum / Double(count) / variance
        }
        let c = clean.map(Double.init)
        let (cm, cv) = moments(c)
        #expect(abs(cm) < 1e-4 && abs(cv - 1) < 1e-4, "clean mean \(cm), variance \(cv)")
        for (name, volume) in [("tomographic", noisy), ("white", white)] {
            let noise = zip(volume, clean).map { Double($0) - Double($1) }
            let (_, nv) = moments(noise)
            #expect(abs(nv - 4) < 0.2, "\(name) noise variance \(nv), expected 4")
            let x = lag1(noise, stride: 1, along: size.x), y = lag1(noise, stride: size.x, along: size.y)
            if name == "tomographic" {
                #expect(x <= -0.3, "lag-1 correlation along X \(x)")
            } else {
                #expect(abs(x) < 0.02, "white lag-1 along X \(x)")
            }
            #expect(abs(y) < 0.02, "\(name) lag-1 correlation along Y \(y)")
        }
    }

    @Test("synth streams: 2 GiB to a pipe with peak RSS ≤ 256 MiB")
    func boundedMemory() throws {
        guard FileManager.default.fileExists(atPath: "/usr/bin/time") else {
            print("skipped: needs /usr/bin/time (apt install time)")
            return
        }
        let run = try shell("/usr/bin/time -f 'peak %M' $B synth --quiet --size 1024x1024x512 | wc -c")
        try #require(run.status == 0, "\(run.stderr)")
        let bytes = Int(String(decoding: run.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(bytes == 1024 + 1024 * 1024 * 512 * 4)
        let peak = try #require(run.stderr.split(separator: "\n").last(where: { $0.hasPrefix("peak ") }).flatMap { Int($0.dropFirst(5)) })
        #expect(peak <= 256 * 1024, "peak RSS \(peak / 1024) MiB")
    }

    @Test("score agrees with tools/metrics.py on the tuning phantoms (0.01 dB, 0.002 SSIM, 0.5 Å)")
    func scoreMatchesMetrics() throws {
        guard let data = Self.tuning, let script = Self.metricsScript, Self.metricsAvailable else {
            print("skipped: needs ../shared/data, ../shared/tools/metrics.py and python3 with numpy, scipy, scikit-image, mrcfile")
            return
        }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for phantom in ["tune_tomo", "tune_white"] {
            let clean = data.appendingPathComponent("\(phantom)/clean.mrc").path
            let noisy = data.appendingPathComponent("\(phantom)/noisy.mrc").path
            let made = try shell("$B gaussian --quiet --sigma 0.9 \(q(noisy)) smooth.mrc", in: dir)
            try #require(made.status == 0, "\(made.stderr)")
            let ours = try shell("$B score --json \(q(clean)) smooth.mrc --noisy \(q(noisy))", in: dir)
            let theirs = try shell("python3 \(q(script.path)) \(q(clean)) smooth.mrc --noisy \(q(noisy))", in: dir)
            try #require(ours.status == 0 && theirs.status == 0, "\(ours.stderr)\(theirs.stderr)")
            let a = try #require(JSONSerialization.jsonObject(with: ours.stdout) as? [String: Any])
            let b = try #require(JSONSerialization.jsonObject(with: theirs.stdout) as? [String: Any])
            let tolerances: [(String, Double)] = [
                ("psnr", 0.01), ("psnr_affine", 0.01), ("psnr_in", 0.01), ("psnr_affine_in", 0.01), ("psnr_affine_gain", 0.01),
                ("ssim", 0.002), ("ssim_affine", 0.002), ("ssim_in", 0.002), ("ssim_affine_in", 0.002),
                ("fsc05_A", 0.5), ("fsc0143_A", 0.5), ("fsc05_A_in", 0.5), ("fsc0143_A_in", 0.5),
                ("pearson", 1e-4), ("resid_clean_corr", 1e-4),
            ]
            for (key, tolerance) in tolerances {
                let x = try #require(a[key] as? Double, "\(key) missing from score"), y = try #require(b[key] as? Double, "\(key) missing from metrics.py")
                #expect(abs(x - y) <= tolerance, "\(phantom) \(key): score \(x), metrics.py \(y)")
            }
        }
    }

    /// The grey pixels of a PNG.
    func decodePNG(_ url: URL) throws -> (width: Int, height: Int, pixels: [UInt8]) {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        try #require(png_image_begin_read_from_file(&image, url.path) != 0)
        image.format = UInt32(PNG_FORMAT_GRAY)
        var pixels = [UInt8](repeating: 0, count: Int(image.width * image.height))
        try #require(png_image_finish_read(&image, nil, &pixels, 0, nil) != 0)
        return (Int(image.width), Int(image.height), pixels)
    }

    @Test("preview: XY with YZ beside it and XZ below, a label strip per row, a scale bar in nm, shared contrast on request")
    func previewLayout() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try shell("$B synth --quiet --size 60x40x30 a.mrc --clean b.mrc && $B preview --quiet a.mrc b.mrc --scale 2 out.png", in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        let (w, h, pixels) = try decodePNG(dir.appendingPathComponent("out.png"))
        // Width: XY (60) and YZ (Z = 30 wide) × scale 2 and a gap of 4; each row: a label strip of
        // 7 + 2·3 pixels, XY (40) over XZ (30) × 2 and a gap; one gap between the rows.
        #expect(w == (60 + 30) * 2 + 4)
        #expect(h == 2 * (13 + (40 + 30) * 2 + 4) + 4)
        let at = { (x: Int, y: Int) in pixels[y * w + x] }
        // The label strip: black text ("a.mrc") on white, nothing else.
        let strip = (0..<13).flatMap { y in (0..<w).map { at($0, y) } }
        #expect(Set(strip) == [0, 255])
        #expect(strip.filter { $0 == 0 }.count > 20, "text is drawn")
        // The empty corner right of XZ stays white; the panels hold grey levels.
        #expect(at(w - 1, h - 1) == 255)
        #expect(Set((13..<93).flatMap { y in (0..<120).map { at($0, y) } }).count > 100)
        // Scale bar (synth writes 10 Å voxels: 60 nm across, so a 10 nm bar of 20 pixels) on a
        // black box in XY's lower-left corner: box from y = 13 + 80 − 3 − 19 = 71, bar 3 pixels
        // high under the 7-pixel text.
        for x in 6..<26 { #expect(at(x, 85) == 255, "bar at x \(x)") }
        #expect(at(26, 85) == 0 && at(4, 85) == 0, "the bar is 20 pixels long on its box")

        // Shared contrast: the clean volume's smaller range gets fewer grey levels than its own window gives it.
        let shared = try shell("$B preview --quiet a.mrc b.mrc --scale 2 --same-contrast --labels noisy,clean shared.png", in: dir)
        try #require(shared.status == 0, "\(shared.stderr)")
        let (_, _, sharedPixels) = try decodePNG(dir.appendingPathComponent("shared.png"))
        let secondXY = { (p: [UInt8]) in Set((0..<80).flatMap { y in (0..<120).map { p[(13 + 144 + 4 + 13 + y) * w + $0] } }).count }
        #expect(secondXY(sharedPixels) < secondXY(pixels), "\(secondXY(sharedPixels)) vs \(secondXY(pixels))")
        #expect(sharedPixels.prefix(13 * w) != pixels.prefix(13 * w), "another label")

        // A label wider than the picture is cut at its edge (it once crashed the drawing).
        let long = try shell("$B preview --quiet a.mrc b.mrc --labels \(String(repeating: "w", count: 60)),b long.png", in: dir)
        #expect(long.status == 0, "\(long.stderr)")

        let wrong = try shell("$B preview a.mrc b.mrc --labels only-one x.png", in: dir)
        #expect(wrong.status == 64 && wrong.stderr.contains("--labels gives 1 label(s) for 2 volume(s)"), "\(wrong.stderr)")
    }

    @Test("s2s --report: a PNG with the loss curve and the noise correlation side by side over the sections before and after, from a pipe too")
    func trainingReport() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try shell(
            "$B synth --quiet --size 48x48x32 a.mrc && cat a.mrc | $B s2s --steps 30 --train-minutes 100 --distill 0 --report r.png > out.mrc", in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("report: r.png"), "\(run.stderr)")
        let (w, h, pixels) = try decodePNG(dir.appendingPathComponent("r.png"))
        #expect(w == 2 * 360 + 3 * 8, "two plot panels of 360 pixels and margins")
        // The two plots' frames: a row where both top edges run black (over 600 pixels).
        let frameRow = (0..<min(h, 200)).first { y in (0..<w).filter { pixels[y * w + $0] == 0 }.count > 600 }
        let top = try #require(frameRow, "the plots' frames")
        // The loss curve: grey dots of the steps inside the left frame.
        let inside = (top + 1..<(top + 150)).flatMap { y in (43..<358).map { pixels[y * w + $0] } }
        #expect(inside.contains(160), "loss dots")
        #expect(inside.contains(0), "the running mean")
        // Below the plots: the two labelled preview rows (before, after) of a 48×48×32 volume at scale 3.
        let sections = (top + 180..<h).flatMap { y in (8..<(8 + 144)).map { pixels[y * w + $0] } }
        #expect(Set(sections).count > 100, "sections with grey levels")
        #expect(h >= top + 170 + 2 * (48 + 32) * 3, "both rows of sections: \(h)")
        // The input and output are unchanged by the report; it may not name the output.
        let same = try shell("$B s2s --steps 2 --distill 0 --report out2.mrc a.mrc out2.mrc", in: dir)
        #expect(same.status == 64 && same.stderr.contains("names the output"), "\(same.stderr)")
    }

    @Test("bad input: clear one-line errors, no output left")
    func refusals() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let size = try shell("$B synth --size 0x10x10 out.mrc", in: dir)
        #expect(size.status == 64 && size.stderr.contains("--size"))
        let snr = try shell("$B synth --snr -1 out.mrc", in: dir)
        #expect(snr.status == 64 && snr.stderr.contains("snr"))
        let memory = try shell("$B synth --size 4096x4096x10 out.mrc", in: dir)
        #expect(memory.status == 1 && memory.stderr.contains("memory"), "\(memory.stderr)")
        let made = try shell("$B synth --quiet --size 20x20x20 a.mrc && $B synth --quiet --size 20x20x21 b.mrc", in: dir)
        try #require(made.status == 0)
        let mismatch = try shell("$B score a.mrc b.mrc", in: dir)
        #expect(mismatch.status == 1 && mismatch.errorLines.count == 1 && mismatch.stderr.contains("b.mrc"), "\(mismatch.stderr)")
        #expect(try files(in: dir) == ["a.mrc", "b.mrc"])
    }

    @Test("synth --tilt-series: every volume written, deterministic on 1 or 2 threads, the tilt halves' noise independent and correlated as a back-projection's (X anti-correlated at lag 2, Z positive)")
    func tiltSeries() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let common = "--quiet --size 96x48x64 --tilt-series -60:60:4 --dose 1"
        let run = try shell("""
            $B synth \(common) --threads 1 a.mrc --clean nf.mrc --specimen spec.mrc --tilt-halves even.mrc,odd.mrc --frame-halves fe.mrc,fo.mrc &&
            $B synth \(common) --threads 2 b.mrc
            """, in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        #expect(try files(in: dir) == ["a.mrc", "b.mrc", "even.mrc", "fe.mrc", "fo.mrc", "nf.mrc", "odd.mrc", "spec.mrc"])
        let (size, a) = try Self.voxels(dir.appendingPathComponent("a.mrc").path)
        let (_, b) = try Self.voxels(dir.appendingPathComponent("b.mrc").path)
        #expect(size == Size3(x: 96, y: 48, z: 64))
        #expect(a == b)
        let (_, even) = try Self.voxels(dir.appendingPathComponent("even.mrc").path)
        let (_, odd) = try Self.voxels(dir.appendingPathComponent("odd.mrc").path)
        let (_, spec) = try Self.voxels(dir.appendingPathComponent("spec.mrc").path)
        #expect(Set([a, even, odd, spec].map { $0.hashValue }).count == 4)
        // The difference of the halves is noise only: correlated along X and Z as a WBP's.
        let n = zip(even, odd).map { Double($0) - Double($1) }
        func lag(_ d: Int, stride: Int, along count: Int) -> Double {
            var (sum, norm) = (0.0, 0.0)
            for i in n.indices where (i / stride) % count + d < count {
                sum += n[i] * n[i + d * stride]
                norm += n[i] * n[i]
            }
            return sum / norm
        }
        #expect(lag(2, stride: 1, along: 96) < -0.3, "X lag 2 \(lag(2, stride: 1, along: 96))")
        #expect(lag(1, stride: 96 * 48, along: 64) > 0.4, "Z lag 1 \(lag(1, stride: 96 * 48, along: 64))")
        let refused = try shell("$B synth --quiet --size 32x32x32 --tilt-series 10:-10:2 x.mrc; echo; $B synth --quiet --size 32x32x32 --tilt-series -60:60:3 --halves y.mrc x.mrc", in: dir)
        #expect(refused.stderr.contains("--tilt-series") && refused.stderr.contains("--halves"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.mrc").path))
    }
}
