import Foundation
import Testing

/// `stdio-filter bench nn`: the cost of the network on this machine, one JSON line.
@Suite("bench nn (built binary)")
struct BenchEndToEndTests {
    static func field(_ name: String, in text: String) -> Double? {
        guard let range = text.range(of: "\"\(name)\": ") else { return nil }
        return Double(text[range.upperBound...].prefix { "0123456789.".contains($0) })
    }

    @Test("one JSON line with positive timings; threads follow the CPUs the process may use (taskset, SLURM), not the machine's")
    func timingsAndThreads() throws {
        let run = try shell("$B bench nn --preset lite --patch 16 --iterations 1")
        let line = String(decoding: run.stdout, as: UTF8.self)
        #expect(run.status == 0 && line.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect((BenchEndToEndTests.field("forward_ms", in: line) ?? 0) > 0 && (BenchEndToEndTests.field("train_step_ms", in: line) ?? 0) > 0, "\(line)")
        #expect(BenchEndToEndTests.field("parameters", in: line) == 399_745)
        guard (try? shell("command -v taskset").status) == 0 else {
            print("skipped the affinity check: taskset is not installed")
            return
        }
        let pinned = try shell("taskset -c 0 $B bench nn --preset lite --patch 16 --iterations 1")
        #expect(pinned.status == 0 && BenchEndToEndTests.field("threads", in: String(decoding: pinned.stdout, as: UTF8.self)) == 1,
                "one allowed CPU, one thread: \(String(decoding: pinned.stdout, as: UTF8.self)) \(pinned.stderr)")
    }
}
