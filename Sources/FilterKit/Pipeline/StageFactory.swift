/// Describes a stage and builds it from parameters: what plugins register.
///
/// Like FFmpeg's `AVFilter` entries, factories are listed at compile time (``StageRegistry``)
/// and carry their metadata, so `stdio-filter list` and `--help` need no stage instance.
public protocol StageFactory: Sendable {
    /// The chain and subcommand name, such as `gaussian`.
    static var name: String { get }
    /// One line for `list` and `--help`.
    static var summary: String { get }
    /// A longer explanation with an example, for the subcommand's `--help`.
    static var discussion: String { get }
    /// The parameters, in the order `list` shows them.
    static var parameters: [StageParameter] { get }
    /// Builds the stage; parameter values were checked against ``parameters`` but not their meaning.
    static func make(_ parameters: StageParameters) throws -> any Stage
    /// Input volumes the stage reads: 1, or 2 for a ``PairedInputStage`` (two halves).
    static var inputCount: Int { get }
}

extension StageFactory {
    public static var discussion: String { "" }
    public static var inputCount: Int { 1 }
}

/// The stages this build knows, looked up by name.
public struct StageRegistry: Sendable {
    public let factories: [any StageFactory.Type]
    /// Stages loaded at run time (plugins), after the built-in ones.
    public let runtime: [RuntimeStageDescriptor]

    public init(_ factories: [any StageFactory.Type], runtime: [RuntimeStageDescriptor] = []) {
        self.factories = factories
        self.runtime = runtime
    }

    /// Every stage's name, built in first.
    public var names: [String] { factories.map { $0.name } + runtime.map(\.name) }

    public func factory(named name: String) -> (any StageFactory.Type)? {
        factories.first { $0.name == name }
    }

    /// Builds the stages of a parsed chain, checking every name and parameter.
    public func makeChain(_ spec: [ChainSpec.Element]) throws -> [any Stage] {
        let stages = try spec.map { element in
            if let factory = factory(named: element.name) {
                return try factory.make(StageParameters(stage: element.name, schema: factory.parameters, given: element.parameters))
            }
            guard let loaded = runtime.first(where: { $0.name == element.name }) else {
                throw FilterError.invalidParameter(name: "stage", value: element.name, expected: "one of \(names.joined(separator: ", "))")
            }
            let parameters = try StageParameters(stage: element.name, schema: loaded.parameters, given: element.parameters)
            // A plugin receives its values as text: check each against its kind here.
            for p in loaded.parameters where !p.accepts(parameters.text(p.name)) {
                throw FilterError.invalidParameter(name: "\(element.name) \(p.name)", value: parameters.text(p.name), expected: p.expectation)
            }
            return try loaded.make(parameters)
        }
        try ChainSpec.checkStatistics(of: stages, spec: spec)
        return stages
    }
}

/// The textual chain of `run --chain`: stages separated by `,`, parameters by `:`, as in
/// `gaussian:sigma=2,bin:factor=2` (FFmpeg's `-vf` syntax).
public enum ChainSpec {
    public struct Element: Sendable, Equatable {
        public var name: String
        public var parameters: [(String, String)]

        public init(name: String, parameters: [(String, String)]) {
            self.name = name
            self.parameters = parameters
        }

        public static func == (a: Element, b: Element) -> Bool {
            a.name == b.name && a.parameters.elementsEqual(b.parameters, by: { $0 == $1 })
        }
    }

    /// The chain in a canonical form (parameters sorted by name), as `stats` records the
    /// stages it measured after: `gaussian:sigma=1.5,bin:factor=2`.
    public static func canonical(_ spec: some Collection<Element>) -> String {
        spec.map { element in
            ([element.name] + element.parameters.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }).joined(separator: ":")
        }.joined(separator: ",")
    }

    /// Checks that each stage given a statistics file (``StatisticsConsumer``) got one measured
    /// after the stages before it in `spec` (those `stats --chain` was given), so that a file of
    /// the raw input is not used after a filter that changes the values.
    public static func checkStatistics(of stages: [any Stage], spec: [Element]) throws {
        for (i, stage) in stages.enumerated() {
            guard let (statistics, path) = (stage as? StatisticsConsumer)?.statisticsFile else { continue }
            let before = canonical(spec[..<i])
            guard canonical(try parse(statistics.chain, allowEmpty: true)) == before else {
                let made = statistics.chain.isEmpty ? "holds statistics of the input itself" : "was measured after --chain \"\(statistics.chain)\""
                throw FilterError.invalidParameter(
                    name: "\(stage.name) stats", value: path,
                    expected: "statistics of \(stage.name)'s input, " + (before.isEmpty ? "the input itself (stats without --chain)" : "measured with stats --chain \"\(before)\"") + "; the file \(made)")
            }
        }
    }

    /// Parses a chain; throws for empty elements and parameters without `=` (and for an empty
    /// chain unless `allowEmpty`).
    public static func parse(_ text: String, allowEmpty: Bool) throws -> [Element] {
        if allowEmpty && text.trimmingCharactersInSet([" "]).isEmpty { return [] }
        return try parse(text)
    }

    /// Parses a chain; throws for empty elements and parameters without `=`.
    public static func parse(_ text: String) throws -> [Element] {
        let trimmed = text.trimmingCharactersInSet([" "])
        guard !trimmed.isEmpty else {
            throw FilterError.invalidParameter(name: "chain", value: text, expected: "stages such as gaussian:sigma=2,bin:factor=2")
        }
        return try trimmed.split(separator: ",", omittingEmptySubsequences: false).map { part in
            let fields = part.split(separator: ":", omittingEmptySubsequences: false).map { String($0).trimmingCharactersInSet([" "]) }
            guard let name = fields.first, !name.isEmpty else {
                throw FilterError.invalidParameter(name: "chain", value: text, expected: "a stage name before each ':' and between ','")
            }
            let parameters = try fields.dropFirst().map { field -> (String, String) in
                guard let eq = field.firstIndex(of: "="), eq != field.startIndex else {
                    throw FilterError.invalidParameter(name: "\(name) parameter", value: field, expected: "name=value")
                }
                return (String(field[..<eq]), String(field[field.index(after: eq)...]))
            }
            return Element(name: name, parameters: parameters)
        }
    }
}
