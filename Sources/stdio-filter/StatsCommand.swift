import ArgumentParser
import FilterKit
import StageCatalog

/// `stdio-filter stats IN [--chain SPEC] [--json]`: the global statistics that `normalize` and
/// `s2s` measure in their prepass, once, for the parts of a split run (`--stats FILE`).
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Measure a volume's global statistics (count, mean, std, min, max, percentiles) for --stats.",
        discussion: """
            Reads the input once (twice with percentiles) exactly as the prepass of normalize and
            s2s does, and prints the numbers; with --json one JSON object that those stages read
            with --stats FILE instead of their own prepass. A cluster job measures once, then every
            part of a split run (--zrange) reads only the sections it needs and still agrees bit
            for bit with a single run. When stages come before normalize or s2s, give them with
            --chain: the statistics are of their output.

            Examples:
              stdio-filter stats --json tomo.mrc > tomo.stats.json
              stdio-filter normalize --stats tomo.stats.json --zrange 0:100 tomo.mrc part0.mrc
              stdio-filter stats --chain "gaussian:sigma=1" --percentiles none --json tomo.mrc > g.json
            """)

    /// The percentiles measured unless told otherwise (normalize's defaults among them).
    static let defaultPercents: [Double] = [0.1, 0.5, 1, 2, 5, 25, 50, 75, 95, 98, 99, 99.5, 99.9]

    @OptionGroup var global: GlobalOptions
    @OptionGroup var io: InputOptions

    @Option(help: ArgumentHelp("Stages applied before measuring (those before normalize or s2s in the chain the parts run).", valueName: "spec"))
    var chain: String?

    @Option(
        help: ArgumentHelp(
            "Percentiles to measure, comma-separated (a second pass), or 'none' (default: 0.1,0.5,1,2,5,25,50,75,95,98,99,99.5,99.9).",
            valueName: "list"))
    var percentiles: String?

    @Flag(help: "Print one JSON object (the --stats file format) instead of text.")
    var json = false

    @Argument(help: ArgumentHelp("Input volume, or '-' for stdin.", valueName: "input"))
    var input: String = "-"

    func validate() throws { _ = try percents() }

    /// The percents asked for, sorted and without repeats.
    func percents() throws -> [Double] {
        guard let text = percentiles else { return Self.defaultPercents }
        if text == "none" { return [] }
        var values: Set<Double> = []
        for word in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let v = Double(word.filter { $0 != " " }), v.isFinite, (0...100).contains(v) else {
                throw ValidationError("--percentiles: '\(word)' is not a percent in 0…100 (give a list such as 1,99.9, or none)")
            }
            values.insert(v)
        }
        return values.sorted()
    }

    func run() throws {
        let probe = StatisticsProbe(percents: try percents())
        try runProbe(probe, after: chain, command: "stats", global: global, io: io, input: input) { source, spec in
            let stats = probe.result(source: source, chain: ChainSpec.canonical(spec))
            print(json ? stats.json : Self.text(stats))
        }
    }

    static func text(_ s: VolumeStatistics) -> String {
        var lines = [
            "source:  \(s.source)\(s.chain.isEmpty ? "" : " after \(s.chain)")",
            "size:    \(s.size) (\(s.count) voxels)",
            "mean:    \(s.mean)",
            "std:     \(s.standardDeviation)",
            "min:     \(s.minimum)",
            "max:     \(s.maximum)",
        ]
        for p in s.percentiles.keys.sorted() { lines.append("p\(VolumeStatistics.percentName(p)):".padding(9) + "\(s.percentiles[p]!)") }
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
