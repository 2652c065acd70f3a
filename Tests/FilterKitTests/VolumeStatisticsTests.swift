import FilterKit
import Foundation
import Testing

@Suite("statistics files (stats --json, --stats)")
struct VolumeStatisticsTests {
    /// Awkward values: subnormal, huge, negative zero, many digits.
    static func sample() -> VolumeStatistics {
        var running = RunningStatistics()
        let values: [Float] = [Float.leastNonzeroMagnitude, -3.4e38, 0.1, -0.0, 1.0 / 3.0, 123_456.79]
        values.withUnsafeBufferPointer { running.add($0.baseAddress!, count: $0.count) }
        return VolumeStatistics(
            size: Size3(x: 3, y: 2, z: 1), source: "a \"quoted\"\\path.mrc", chain: "gaussian:sigma=1.5",
            statistics: running, percentiles: [0.1: -3.4e38, 50: 0.1, 99.9: 123_456.79, 100: Float.leastNonzeroMagnitude])
    }

    @Test("JSON written by stats reads back bit for bit")
    func roundTrip() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.json").path
        let original = VolumeStatisticsTests.sample()
        try (original.json + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let back = try VolumeStatistics.load(path)
        #expect(back == original)
        #expect(back.mean.bitPattern == original.mean.bitPattern && back.standardDeviation.bitPattern == original.standardDeviation.bitPattern)
        #expect(back.percentiles[0.1] == -3.4e38 && back.percentiles[100] == Float.leastNonzeroMagnitude)
    }

    @Test("files that are not statistics are refused naming the file and the field")
    func refusals() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = VolumeStatisticsTests.sample().json
        let cases: [(String, String)] = [
            ("", "not a JSON object"),
            ("[1]", "not a JSON object"),
            (good.replacingOccurrences(of: "stdio-filter stats 1", with: "other 2"), "format"),
            (good.replacingOccurrences(of: "\"size\":[3,2,1]", with: "\"size\":[3,2]"), "size"),
            (good.replacingOccurrences(of: "\"size\":[3,2,1]", with: "\"size\":[3,0,1]"), "size"),
            (good.replacingOccurrences(of: "\"count\":6", with: "\"count\":-1"), "count"),
            (good.replacingOccurrences(of: "\"std\":", with: "\"std\":-"), "std"),
            (good.replacingOccurrences(of: "\"50\":", with: "\"150\":"), "percentile \"150\""),
            (good.replacingOccurrences(of: "\"mean\":", with: "\"average\":"), "mean"),
        ]
        for (i, (text, message)) in cases.enumerated() {
            let path = dir.appendingPathComponent("bad\(i).json").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            #expect {
                try VolumeStatistics.load(path)
            } throws: { error in
                let text = "\(error)"
                return text.contains(path) && text.contains("not a statistics file") && text.contains(message)
            }
        }
    }

    @Test("the recorded chain is compared in canonical form (parameters in any order)")
    func canonicalChain() throws {
        #expect(ChainSpec.canonical(try ChainSpec.parse("bin:factor=2, gaussian:sigma=1:boundary=reflect")) == "bin:factor=2,gaussian:boundary=reflect:sigma=1")
        #expect(ChainSpec.canonical(try ChainSpec.parse("  ", allowEmpty: true)) == "")
    }
}
