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

    @Test("preview writes a PNG that libpng decodes, one row of three sections per volume")
    func previewDecodes() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try shell("$B synth --quiet --size 60x40x30 a.mrc --clean b.mrc && $B preview --quiet a.mrc b.mrc --scale 2 out.png", in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        try #require(png_image_begin_read_from_file(&image, dir.appendingPathComponent("out.png").path) != 0)
        image.format = UInt32(PNG_FORMAT_GRAY)
        var pixels = [UInt8](repeating: 0, count: Int(image.width * image.height))
        try #require(png_image_finish_read(&image, nil, &pixels, 0, nil) != 0)
        // Width: XY, XZ (60 each) and YZ (40) × scale 2, two gaps of 4; height: two rows of max(40, 30) × 2, one gap.
        #expect(image.width == UInt32((60 + 60 + 40) * 2 + 8))
        #expect(image.height == UInt32(2 * 40 * 2 + 4))
        #expect(Set(pixels).count > 100, "the picture has grey levels")
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
}
