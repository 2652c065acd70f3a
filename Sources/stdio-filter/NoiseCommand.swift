import ArgumentParser
import FilterKit
import S2SFilter
import StageCatalog

/// `stdio-filter noise IN`: the noise correlation of a volume and the blind region `s2s
/// --mask auto` builds from it.
struct NoiseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "noise",
        abstract: "Measure a volume's noise correlation at small lags and the blind region s2s hides.",
        discussion: """
            Samples the cubes s2s trains on (same positions for the same --seed), high-passes them,
            keeps the quietest quarter of 8x8x8 boxes and prints the correlation of the residual
            along X, Y and Z at lags 1 to 8, the XZ, YZ and XY planes of lags -4 to 4, and the blind region of
            s2s --mask auto: every neighbour whose correlation reaches --threshold in magnitude.
            Reconstruction noise is correlated along X from ramp filtering and along Z and Y from
            back-projection and interpolation; white noise gives a one-voxel region.

            Examples:
              stdio-filter noise tomo.mrc
              stdio-filter noise --json tomo.mrc > tomo.noise.json
              stdio-filter noise --chain "bin:factor=2" tomo.mrc
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var io: InputOptions

    @Option(help: ArgumentHelp("Stages applied before measuring.", valueName: "spec"))
    var chain: String?

    @Option(help: ArgumentHelp("Correlation magnitude from which a neighbour is hidden (as s2s --noise-threshold).", valueName: "r"))
    var threshold: Double = MaskSetting.defaultThreshold

    @Option(help: "Cubes sampled (as s2s).")
    var patches: Int = S2SSettings().patchCount

    @Option(help: "Cube side in voxels (as s2s --patch).")
    var patch: Int = S2SSettings().patch

    @Option(help: "Seed of the cube positions (as s2s --seed).")
    var seed: Int = 0

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Argument(help: ArgumentHelp("Input volume, or '-' for stdin.", valueName: "input"))
    var input: String = "-"

    func validate() throws {
        guard threshold > 0, threshold <= 1 else { throw ValidationError("--threshold: \(threshold) is not in (0, 1]") }
        guard (1...10_000).contains(patches) else { throw ValidationError("--patches: \(patches) is not in 1…10000") }
        guard (4...256).contains(patch) else { throw ValidationError("--patch: \(patch) is not in 4…256") }
        guard seed >= 0 else { throw ValidationError("--seed: \(seed) is negative") }
    }

    func run() throws {
        let probe = NoiseProbe(patchCount: patches, patchSide: patch, seed: UInt64(seed))
        try runProbe(probe, after: chain, command: "noise", global: global, io: io, input: input) { source, _ in
            let correlation = probe.correlation!
            let region = correlation.blindRegion(threshold: threshold)
            print(json ? Self.json(correlation, region: region, threshold: threshold, source: source)
                       : Self.text(correlation, region: region, threshold: threshold, source: source))
        }
    }

    static func text(_ c: NoiseCorrelation, region: BlindRegion, threshold: Double, source: String) -> String {
        let r = NoiseCorrelation.radius
        var lines = ["source:  \(source) (\(c.voxels) voxels in the quietest boxes)", "lag      " + (1...NoiseCorrelation.axisLags).map { "\($0)".leftPadded(6) }.joined()]
        for (name, values) in zip(["X", "Y", "Z"], c.axes) {
            lines.append("\(name)        " + values.dropFirst().map { NoiseCorrelation.signed($0).leftPadded(6) }.joined())
        }
        let planes: [(String, (Int, Int) -> Double)] = [
            ("XZ plane (rows Z −\(r)…\(r), columns X −\(r)…\(r))", { c[dx: $1, dy: 0, dz: $0] }),
            ("YZ plane (rows Z, columns Y)", { c[dx: 0, dy: $1, dz: $0] }),
            ("XY plane (rows Y, columns X)", { c[dx: $1, dy: $0, dz: 0] }),
        ]
        for (title, value) in planes {
            lines.append(title)
            for row in -r...r { lines.append("  " + (-r...r).map { NoiseCorrelation.signed(value(row, $0)).leftPadded(6) }.joined()) }
        }
        lines.append("blind region (|ρ| ≥ \(threshold)): \(region)")
        return lines.joined(separator: "\n")
    }

    static func json(_ c: NoiseCorrelation, region: BlindRegion, threshold: Double, source: String) -> String {
        func list(_ v: [Double]) -> String { "[" + v.map { "\(($0 * 10000).rounded() / 10000)" }.joined(separator: ",") + "]" }
        let offsets = region.offsets.map { "[\($0.x),\($0.y),\($0.z)]" }.joined(separator: ",")
        return """
            {"source":\(JSONText.quoted(source)),"voxels":\(c.voxels),"radius":\(NoiseCorrelation.radius),\
            "x":\(list(c.axes[0])),"y":\(list(c.axes[1])),"z":\(list(c.axes[2])),\
            "lags_zyx":\(list(c.values)),"threshold":\(threshold),"blind_region":[\(offsets)]}
            """
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
