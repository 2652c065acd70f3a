#if canImport(Glibc)
import Glibc
#endif

/// An error from reading, filtering or writing a volume.
///
/// Every case carries the context a user needs to act: the file (or `stdin`/`stdout`), the byte
/// offset or header field, and what was expected. ``description`` is one line, suitable for stderr.
public enum FilterError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A header field holds a value that cannot describe a volume.
    case badHeader(source: String, field: String, offset: Int, found: String, expected: String)
    /// The input is well formed but uses a feature this tool refuses, such as complex data.
    case unsupported(source: String, what: String, hint: String)
    /// The data ended before the header said it would.
    case truncated(source: String, offset: Int64, expected: String)
    /// A system call failed on a file.
    case system(source: String, operation: String, errno: Int32)
    /// Output would overwrite the input.
    case outputIsInput(path: String)
    /// A value given by the user (or a stage parameter) is out of range.
    case invalidParameter(name: String, value: String, expected: String)
    /// The request needs more memory than the budget allows.
    case memoryBudget(what: String, needed: Int, budget: Int)
    /// A helper program (a decompressor) failed.
    case helperFailed(source: String, program: String, status: Int32)
    /// The caller used an API in a way its source cannot serve (for example seeking on a pipe).
    case notSeekable(source: String, operation: String)
    /// A stage failed while computing a region of its output (or in its setup or prepass):
    /// `cause` is what it threw, kept typed (``rootCause``).
    indirect case stage(name: String, region: String, cause: FilterError)
    /// An error from outside this package (a system library, Foundation), by its description.
    case other(message: String)
    /// A runtime plugin (a shared library) could not be loaded, or one of its stages failed.
    case plugin(path: String, stage: String?, message: String)
    /// The two inputs of a paired stage (two halves) do not describe the same volume.
    case mismatchedInputs(first: String, second: String, difference: String)
    /// A well-formed volume that a stage cannot work on (too small for its network, say): the
    /// data's fault, not a parameter's. `what` names the property, `found` its value.
    case unsuitableInput(what: String, found: String, expected: String)

    public var description: String {
        switch self {
        case let .badHeader(source, field, offset, found, expected):
            return "\(source): bad MRC header: \(field) at byte \(offset) is \(found), expected \(expected)"
        case let .unsupported(source, what, hint):
            return "\(source): \(what)" + (hint.isEmpty ? "" : "; \(hint)")
        case let .truncated(source, offset, expected):
            return "\(source): truncated at byte offset \(offset): \(expected)"
        case let .system(source, operation, errno):
            return "\(source): \(operation) failed: \(String(cString: strerror(errno)))"
        case let .outputIsInput(path):
            return "\(path): refusing to overwrite the input file"
        case let .invalidParameter(name, value, expected):
            return "invalid \(name) '\(value)': expected \(expected)"
        case let .memoryBudget(what, needed, budget):
            return "\(what) needs \(ByteCount(needed)) but the memory budget is \(ByteCount(budget)) (raise --memory)"
        case let .helperFailed(source, program, status):
            return "\(source): \(program) failed with exit status \(status) (corrupt or truncated compressed data?)"
        case let .notSeekable(source, operation):
            return "\(source): \(operation) needs a seekable file, not a pipe"
        case let .stage(name, region, cause):
            return "stage \(name) at \(region): \(cause)"
        case let .other(message):
            return message
        case let .plugin(path, stage, message):
            return "plugin \(path): " + (stage.map { "stage \($0): " } ?? "") + message
        case let .mismatchedInputs(first, second, difference):
            return "\(first) and \(second) are not two halves of one volume: \(difference)"
        case let .unsuitableInput(what, found, expected):
            return "\(what) is \(found): expected \(expected)"
        }
    }
}

extension FilterError {
    /// `error` as a ``FilterError``: itself, or ``other(message:)`` with its description.
    public init(_ error: any Error) {
        self = (error as? FilterError) ?? .other(message: "\(error)")
    }

    /// `error` from stage `name` at `region`: ``stage(name:region:cause:)``, unless it already
    /// names the stage that failed (an error of an upstream stage passes through as it is).
    public static func stage(_ name: String, at region: String, _ error: any Error) -> FilterError {
        let typed = FilterError(error)
        if case .stage = typed { return typed }
        return .stage(name: name, region: region, cause: typed)
    }

    /// The error beneath every ``stage(name:region:cause:)`` around it.
    public var rootCause: FilterError {
        if case let .stage(_, _, cause) = self { return cause.rootCause }
        return self
    }

    /// The process exit status for this error, from its ``rootCause``: 64 (`EX_USAGE`) when the
    /// command line asked for something impossible — a value out of range, also one that does
    /// not fit this volume (a crop beyond its edge, a --zrange past its end) — and 1 for what
    /// the data, the files, the system or a library caused (including a file given as a value,
    /// such as a model or statistics file, that does not fit the input).
    public var exitStatus: Int32 {
        if case .invalidParameter = rootCause { return 64 }
        return 1
    }
}

/// A byte count printed with a binary unit (`512 MiB`), and parsed from `512M`, `2G`, `1.5GiB`, `100000`.
public struct ByteCount: CustomStringConvertible, Sendable, Equatable, Comparable {
    public var bytes: Int

    public init(_ bytes: Int) { self.bytes = bytes }

    /// Parses a size such as `256M`, `2G`, `2GiB`, `1.5g`, `4096k` or a plain number of bytes.
    public init?(parsing text: String) {
        var number = Substring(text.trimmingCharactersInSet([" "]))
        var scale = 1.0
        let units: [(String, Double)] = [
            ("tib", 0x1p40), ("gib", 0x1p30), ("mib", 0x1p20), ("kib", 0x1p10),
            ("tb", 0x1p40), ("gb", 0x1p30), ("mb", 0x1p20), ("kb", 0x1p10),
            ("t", 0x1p40), ("g", 0x1p30), ("m", 0x1p20), ("k", 0x1p10), ("b", 1),
        ]
        let lower = number.lowercased()
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Double(number), value.isFinite, value >= 0, value * scale < 0x1p62 else { return nil }
        self.bytes = Int((value * scale).rounded())
    }

    public var description: String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? "\(Int(rounded)) \(units[unit])" : "\(rounded) \(units[unit])"
    }

    public static func < (lhs: ByteCount, rhs: ByteCount) -> Bool { lhs.bytes < rhs.bytes }
}

extension String {
    /// `self` without leading and trailing occurrences of `character` (Foundation-free).
    func trimmingCharactersInSet(_ characters: Set<Character>) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, characters.contains(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, characters.contains(last) { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
