/// Global statistics of a volume, as the `stats` command writes them (JSON) and the stages that
/// need them (`normalize`, `s2s`) read them back with `--stats FILE`.
///
/// Parts of a split run (`--zrange`) then agree with a single run without each reading the whole
/// input: the file holds the very numbers the stage's own prepass computes (same accumulation
/// order; doubles printed so that they read back bit for bit).
public struct VolumeStatistics: Equatable, Sendable {
    /// The file format's name and version, the first field of the JSON.
    public static let format = "stdio-filter stats 1"

    /// The size of the measured volume (the output of `chain` applied to `source`).
    public var size: Size3
    /// What was measured: the input's name.
    public var source: String
    /// The chain applied before measuring, as given to `stats --chain` ("" for none).
    public var chain: String
    public var count: Int
    public var mean: Double
    /// Population standard deviation.
    public var standardDeviation: Double
    public var minimum: Float
    public var maximum: Float
    /// Percentile values, by percent (0…100).
    public var percentiles: [Double: Float]

    public init(size: Size3, source: String, chain: String, statistics: RunningStatistics, percentiles: [Double: Float]) {
        self.init(
            size: size, source: source, chain: chain, count: statistics.count, mean: statistics.mean,
            standardDeviation: statistics.standardDeviation, minimum: statistics.minimum, maximum: statistics.maximum,
            percentiles: percentiles)
    }

    init(size: Size3, source: String, chain: String, count: Int, mean: Double, standardDeviation: Double,
         minimum: Float, maximum: Float, percentiles: [Double: Float]) {
        (self.size, self.source, self.chain, self.count) = (size, source, chain, count)
        (self.mean, self.standardDeviation, self.minimum, self.maximum) = (mean, standardDeviation, minimum, maximum)
        self.percentiles = percentiles
    }

    /// Whether mean, minimum and maximum are finite (a volume with NaN or infinity has none).
    public var isFinite: Bool { mean.isFinite && minimum.isFinite && maximum.isFinite }

    /// One JSON object on one line.
    public var json: String {
        func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
        let p = percentiles.keys.sorted().map { "\(JSONText.quoted(Self.percentName($0))):\(number(Double(percentiles[$0]!)))" }
        return "{\"format\":\(JSONText.quoted(Self.format)),\"source\":\(JSONText.quoted(source)),\"chain\":\(JSONText.quoted(chain)),"
            + "\"size\":[\(size.x),\(size.y),\(size.z)],\"count\":\(count),\"mean\":\(number(mean)),\"std\":\(number(standardDeviation)),"
            + "\"min\":\(number(Double(minimum))),\"max\":\(number(Double(maximum))),\"percentiles\":{\(p.joined(separator: ","))}}"
    }

    /// "0.1" for 0.1, "99" for 99: the key a percentile is stored under.
    public static func percentName(_ percent: Double) -> String {
        percent == percent.rounded() ? "\(Int(percent))" : "\(percent)"
    }

    /// Reads a file written by `stdio-filter stats --json`.
    public static func load(_ path: String) throws -> VolumeStatistics {
        let bytes = try InputSource.contents(of: path, limit: 1 << 20, what: "a statistics file")
        func bad(_ what: String) -> FilterError {
            .unsupported(source: path, what: "not a statistics file: \(what)", hint: "write one with: stdio-filter stats --json IN > FILE")
        }
        guard let json = try? JSONValue.parse(bytes), case let .object(fields) = json else { throw bad("not a JSON object") }
        guard case .string(format)? = fields["format"] else { throw bad("no \"format\": \"\(format)\"") }
        func number(_ key: String) throws -> Double {
            guard case let .number(v)? = fields[key] else { throw bad("no number \"\(key)\"") }
            return v
        }
        func string(_ key: String) -> String {
            if case let .string(s)? = fields[key] { return s }
            return ""
        }
        guard case let .array(dims)? = fields["size"], dims.count == 3 else { throw bad("no \"size\": [x, y, z]") }
        var extent: [Int] = []
        for d in dims {
            guard case let .number(n) = d, n >= 1, n <= 1e9, n == n.rounded() else { throw bad("a bad \"size\"") }
            extent.append(Int(n))
        }
        let count = try number("count")
        guard count >= 1, count <= 1e18, count == count.rounded() else { throw bad("a bad \"count\"") }
        let (mean, std) = (try number("mean"), try number("std"))
        let (lo, hi) = (try number("min"), try number("max"))
        guard std >= 0, lo <= hi, abs(lo) <= Double(Float.greatestFiniteMagnitude), abs(hi) <= Double(Float.greatestFiniteMagnitude) else {
            throw bad("std, min or max out of range")
        }
        var percentiles: [Double: Float] = [:]
        if case let .object(p)? = fields["percentiles"] {
            for (key, value) in p {
                guard let percent = Double(key), (0...100).contains(percent), case let .number(v) = value, v >= lo, v <= hi else {
                    throw bad("a bad percentile \"\(key)\"")
                }
                percentiles[percent] = Float(v)
            }
        }
        return VolumeStatistics(
            size: Size3(x: extent[0], y: extent[1], z: extent[2]), source: string("source"), chain: string("chain"),
            count: Int(count), mean: mean, standardDeviation: std, minimum: Float(lo), maximum: Float(hi), percentiles: percentiles)
    }

    /// Checks that these statistics describe `stage`'s input (its size), naming `path` otherwise.
    public func check(describes input: Size3, stage: String, path: String) throws {
        guard input == size else {
            let made = chain.isEmpty ? "" : " after the chain \(chain)"
            throw FilterError.unsuitableInput(
                what: "\(stage) --stats \(path)", found: "statistics of a \(size) volume (\(source)\(made))",
                expected: "statistics of \(stage)'s input (\(input)): measure the same input, with --chain for the stages before \(stage)")
        }
    }

    /// The value at `percent`, or an error saying how to make a file that has it.
    public func percentile(_ percent: Double, stage: String, path: String) throws -> Float {
        guard let v = percentiles[percent] else {
            let has = percentiles.keys.sorted().map(Self.percentName).joined(separator: ", ")
            throw FilterError.invalidParameter(
                name: "\(stage) stats", value: path,
                expected: "a file with the \(Self.percentName(percent)) % percentile (it has \(has.isEmpty ? "none" : has)): stdio-filter stats --percentiles \(Self.percentName(percent)),… --json")
        }
        return v
    }
}

/// A stage that can take its global statistics from a `stats --json` file instead of a prepass.
public protocol StatisticsConsumer: Stage {
    /// The statistics given, and the file's path for messages; nil when the stage measures.
    var statisticsFile: (statistics: VolumeStatistics, path: String)? { get }
}
