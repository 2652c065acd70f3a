import Foundation
import Testing

/// `stdio-filter noise` through the built binary.
@Suite("noise (built binary)")
struct NoiseEndToEndTests {
    /// The JSON object `noise --json` prints.
    static func report(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("tomographic noise is found anti-correlated along X, white noise uncorrelated; the blind regions follow")
    func synthetic() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try shell("""
            $B synth --quiet --size 96x80x48 --snr 0.2 tomo.mrc && $B synth --quiet --size 96x80x48 --snr 0.5 --noise white white.mrc &&
            $B noise --quiet --json tomo.mrc > tomo.json && $B noise --quiet --json white.mrc > white.json && $B noise --quiet tomo.mrc > tomo.txt
            """, in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        let tomo = try Self.report(String(contentsOf: dir.appendingPathComponent("tomo.json"), encoding: .utf8))
        let white = try Self.report(String(contentsOf: dir.appendingPathComponent("white.json"), encoding: .utf8))
        let (tx, ty, tz) = (tomo["x"] as! [Double], tomo["y"] as! [Double], tomo["z"] as! [Double])
        #expect(tx.count == 9 && abs(tx[0] - 1) < 1e-6)
        #expect(tx[1] < -0.3 && abs(ty[1]) < 0.1 && abs(tz[1]) < 0.1, "x \(tx) y \(ty) z \(tz)")
        let region = (tomo["blind_region"] as! [[Int]]).map { SIMD3($0[0], $0[1], $0[2]) }
        #expect(region.contains(SIMD3(1, 0, 0)) && region.contains(SIMD3(-1, 0, 0)) && !region.contains(SIMD3(0, 1, 0)), "\(region)")
        let (wx, wy, wz) = (white["x"] as! [Double], white["y"] as! [Double], white["z"] as! [Double])
        #expect([wx[1], wy[1], wz[1]].allSatisfy { abs($0) < 0.1 }, "\(wx) \(wy) \(wz)")
        #expect((white["blind_region"] as! [[Int]]) == [[0, 0, 0]])
        let text = try String(contentsOf: dir.appendingPathComponent("tomo.txt"), encoding: .utf8)
        #expect(text.contains("XZ plane") && text.contains("blind region (|ρ| ≥ 0.1):"))
    }

    @Test("bad input and bad options: one line, exit 1 or 64")
    func refusals() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = try shell("$B noise missing.mrc", in: dir)
        #expect(missing.status == 1 && missing.stderr.contains("missing.mrc"), "\(missing.status) \(missing.stderr)")
        let threshold = try shell("$B synth --quiet --size 16x16x16 v.mrc && $B noise --threshold 2 v.mrc", in: dir)
        #expect(threshold.status == 64 && threshold.stderr.contains("--threshold"), "\(threshold.status) \(threshold.stderr)")
    }
}
