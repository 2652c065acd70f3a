import FilterKit
import Foundation
import StageCatalog
import Testing

/// Every numeric, per-axis, range and choice parameter of every stage, given values it must
/// refuse (negative, zero, NaN, infinite, huge, fractional where whole, a wrong unit, garbage):
/// the tool exits 64 with a message naming the stage and the parameter, before it reads a voxel
/// (the input is a FIFO nobody writes to: opening it would hang, and the run would time out).
@Suite("bad parameters (built binary)")
struct BadParameterTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let stage: String, parameter: String, value: String
        var testDescription: String { "\(stage) --\(parameter) \(value)" }
    }

    /// Values required for a stage to run at all (given with every case, unless under test).
    static let required: [String: [(String, String)]] = ["deconv": [("defocus", "3"), ("angpix", "10")]]

    /// Values outside what `kind` accepts.
    static func badValues(_ kind: StageParameter.Kind) -> [String] {
        func outside(_ candidates: [Double], _ range: ClosedRange<Double>) -> [String] {
            candidates.filter { !range.contains($0) }.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int($0)) : "\($0)" }
        }
        switch kind {
        case let .number(r):
            return ["nan", "inf", "-inf", "1e300", "3px", "2Å", "ten", ""] + outside([-1, 0, -1e9, 1e9], r)
        case let .integer(r):
            return ["nan", "2.5", "1e300", "99999999999999999999", "4px", ""] + outside([-1, 0, -1e9, 1e9], Double(r.lowerBound)...Double(r.upperBound))
        case let .perAxis(r):
            return ["nan", "1x2", "1x2x3x4", "1xnanx1", "1e300", "2Å"] + outside([-1, 0, 1e9], r)
        case .range:
            return ["5..2", "a..b", "3", "-4..2", "0..99999"]
        case .choice:
            return ["bogus", "", "ON "]
        case .path:
            return []
        case .text:
            return ["line\nbreak"]
        }
    }

    static let cases: [Case] = stageRegistry.factories.flatMap { factory in
        factory.parameters.flatMap { p in badValues(p.kind).map { Case(stage: factory.name, parameter: p.name, value: $0) } }
    }

    @Test("refused with exit 64 before reading, as a subcommand and in a chain", arguments: cases)
    func refused(_ c: Case) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try shell("mkfifo never-written", in: dir)
        // crop's ranges are checked against the volume: a range past it needs the header (a file).
        let needsHeader = c.parameter == "x" || c.parameter == "y" || c.parameter == "z"
        let input = needsHeader ? try makeVolume(Size3(x: 16, y: 16, z: 16), in: dir) : "never-written"
        let others = (BadParameterTests.required[c.stage] ?? []).filter { $0.0 != c.parameter }
        let flags = (others + [(c.parameter, c.value)]).map { "--\($0.0)=\(q($0.1))" }.joined(separator: " ")
        let spec = ([c.stage] + (others + [(c.parameter, c.value)]).map { "\($0.0)=\($0.1)" }).joined(separator: ":")
        for script in ["timeout 20 $B \(c.stage) \(flags) \(input) out.mrc", "timeout 20 $B run --chain \(q(spec)) \(input) out.mrc"] {
            let run = try shell(script, in: dir)
            // A crop range past the volume is known once the header is read: exit 1, still before any voxel.
            #expect(run.status == 64 || (needsHeader && run.status == 1), "\(script): exit \(run.status) \(run.stderr)")
            #expect(run.stderr.contains(c.parameter), "\(script): the message names the parameter: \(run.stderr)")
            #expect(!run.stderr.contains("\n\n") && run.errorLines.count <= 3, "\(script): short message: \(run.stderr)")
        }
        #expect(try files(in: dir).filter { $0 != "in.mrc" } == ["never-written"], "no output")
    }
}
