/// One parameter of a stage, as `list` shows it and as the chain and command-line parsers check it.
public struct StageParameter: Sendable {
    public enum Kind: Sendable {
        /// A real number within a range.
        case number(ClosedRange<Double>)
        /// A whole number within a range.
        case integer(ClosedRange<Int>)
        /// One value for all axes, or three as `XxYxZ` (such as `2x2x1`).
        case perAxis(ClosedRange<Double>)
        /// A half-open range `a..b`.
        case range
        /// One of a few words.
        case choice([String])
        /// A file path; the default `none` means no file.
        case path
        /// Any text without a line break (the `string` parameters of runtime plugins).
        case text
    }

    public let name: String
    public let kind: Kind
    /// The default as text, or nil when the parameter is required.
    public let defaultValue: String?
    public let unit: String
    public let help: String

    public init(_ name: String, _ kind: Kind, default defaultValue: String?, unit: String = "", help: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.unit = unit
        self.help = help
    }

    /// What a valid value looks like, for messages and `list`.
    public var expectation: String {
        let unitText = unit.isEmpty ? "" : " \(unit)"
        switch kind {
        case let .number(r): return "a number in \(Self.format(r.lowerBound))…\(Self.format(r.upperBound))\(unitText)"
        case let .integer(r): return "a whole number in \(r.lowerBound)…\(r.upperBound)\(unitText)"
        case let .perAxis(r): return "a number in \(Self.format(r.lowerBound))…\(Self.format(r.upperBound))\(unitText), or X×Y×Z as in 2x2x1"
        case .range: return "a range start..end in voxels (end excluded), as in 10..200"
        case let .choice(words): return "one of \(words.joined(separator: ", "))"
        case .path: return "a file path"
        case .text: return "text"
        }
    }

    /// Whether `text` is a valid value of this parameter (what its accessor in ``StageParameters`` accepts).
    public func accepts(_ text: String) -> Bool {
        switch kind {
        case let .number(r): return Double(text).map { $0.isFinite && r.contains($0) } ?? false
        case let .integer(r): return Int(text).map { r.contains($0) } ?? false
        case let .perAxis(r):
            let parts = text.split(separator: "x", omittingEmptySubsequences: false).map { Double($0) }
            return (parts.count == 1 || parts.count == 3) && parts.allSatisfy { $0 != nil && $0!.isFinite && r.contains($0!) }
        case .range:
            let parts = text.components(separatedBy: "..")
            return text == "all" || (parts.count == 2 && Int(parts[0]).map { $0 >= 0 } == true && Int(parts[1]).flatMap { b in Int(parts[0]).map { b > $0 } } == true)
        case let .choice(words): return words.contains(text)
        case .path: return !text.isEmpty
        case .text: return !text.contains(where: \.isNewline)
        }
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : "\(v)"
    }
}

/// Parameter values given to a stage factory, checked against its ``StageParameter`` list.
public struct StageParameters: Sendable {
    public let stage: String
    private var values: [String: String]
    private let schema: [StageParameter]
    /// The names given explicitly (the others hold their defaults).
    public let given: Set<String>

    /// Checks names against `schema` and fills in defaults.
    ///
    /// - Throws: ``FilterError/invalidParameter(name:value:expected:)`` for an unknown name or a
    ///   missing required value.
    public init(stage: String, schema: [StageParameter], given: [(String, String)]) throws {
        self.stage = stage
        self.schema = schema
        var values: [String: String] = [:]
        for (name, value) in given {
            guard schema.contains(where: { $0.name == name }) else {
                let known = schema.map(\.name).joined(separator: ", ")
                throw FilterError.invalidParameter(name: "\(stage) parameter", value: name, expected: known.isEmpty ? "no parameters" : "one of \(known)")
            }
            values[name] = value
        }
        for p in schema where values[p.name] == nil {
            guard let d = p.defaultValue else {
                throw FilterError.invalidParameter(name: "\(stage) \(p.name)", value: "", expected: "a value (required): \(p.expectation)")
            }
            values[p.name] = d
        }
        self.values = values
        self.given = Set(given.map(\.0))
    }

    private func parameter(_ name: String) -> StageParameter {
        guard let p = schema.first(where: { $0.name == name }) else { preconditionFailure("\(stage) has no parameter \(name)") }
        return p
    }

    private func invalid(_ p: StageParameter, _ text: String) -> FilterError {
        .invalidParameter(name: "\(stage) \(p.name)", value: text, expected: p.expectation)
    }

    /// The raw text of a parameter.
    public func text(_ name: String) -> String { values[name] ?? "" }

    public func number(_ name: String) throws -> Double {
        let p = parameter(name), text = text(name)
        guard case let .number(range) = p.kind, let v = Double(text), v.isFinite, range.contains(v) else { throw invalid(p, text) }
        return v
    }

    public func integer(_ name: String) throws -> Int {
        let p = parameter(name), text = text(name)
        guard case let .integer(range) = p.kind, let v = Int(text), range.contains(v) else { throw invalid(p, text) }
        return v
    }

    /// One value for all three axes, or `XxYxZ`.
    public func perAxis(_ name: String) throws -> SIMD3<Double> {
        let p = parameter(name), text = text(name)
        guard case let .perAxis(range) = p.kind else { throw invalid(p, text) }
        let parts = text.split(separator: "x", omittingEmptySubsequences: false).map { Double($0) }
        guard parts.count == 1 || parts.count == 3, parts.allSatisfy({ $0 != nil && $0!.isFinite && range.contains($0!) }) else {
            throw invalid(p, text)
        }
        return parts.count == 1 ? SIMD3(repeating: parts[0]!) : SIMD3(parts[0]!, parts[1]!, parts[2]!)
    }

    /// A half-open range `a..b`, or nil for the default `all`.
    public func range(_ name: String) throws -> Range<Int>? {
        let p = parameter(name), text = text(name)
        if text == "all" { return nil }
        let parts = text.components(separatedBy: "..")
        guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a >= 0, b > a else { throw invalid(p, text) }
        return a..<b
    }

    /// A path, or nil for `none`.
    public func path(_ name: String) throws -> String? {
        let p = parameter(name), text = text(name)
        guard case .path = p.kind, !text.isEmpty else { throw invalid(p, text) }
        return text == "none" ? nil : text
    }

    public func choice(_ name: String) throws -> String {
        let p = parameter(name), text = text(name)
        guard case let .choice(words) = p.kind, words.contains(text) else { throw invalid(p, text) }
        return text
    }
}

extension String {
    /// Splits on a multi-character separator (Foundation-free).
    func components(separatedBy separator: String) -> [String] {
        var parts: [String] = []
        var rest = Substring(self)
        while let r = rest.range(of: separator) {
            parts.append(String(rest[..<r.lowerBound]))
            rest = rest[r.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }
}

extension Substring {
    func range(of needle: String) -> Range<Index>? {
        guard !needle.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}
