/// A small JSON reader (objects, arrays, strings, numbers, literals) for the files the tool reads
/// back: safetensors headers and `stats` files. Numbers are parsed with `Double(_:)`, so a value
/// printed with `Double.description` reads back bit for bit. Nesting is limited to 64 levels.
public enum JSONValue: Equatable, Sendable {
    case object([String: JSONValue]), array([JSONValue]), string(String), number(Double), bool(Bool), null

    /// The text is not JSON (no position: the callers name the file).
    public struct Invalid: Error {}

    /// Parses a whole document; anything but white space after the value is an error.
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        var i = 0
        let value = try parseValue(bytes, &i, depth: 0)
        skipSpace(bytes, &i)
        guard i == bytes.count else { throw Invalid() }
        return value
    }

    private static func skipSpace(_ b: [UInt8], _ i: inout Int) {
        while i < b.count, [0x20, 0x09, 0x0A, 0x0D].contains(b[i]) { i += 1 }
    }

    private static func parseValue(_ b: [UInt8], _ i: inout Int, depth: Int) throws -> JSONValue {
        guard depth < 64 else { throw Invalid() }
        skipSpace(b, &i)
        guard i < b.count else { throw Invalid() }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var fields: [String: JSONValue] = [:]
            skipSpace(b, &i)
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(fields) }
            while true {
                skipSpace(b, &i)
                guard case let .string(key) = try parseValue(b, &i, depth: depth + 1) else { throw Invalid() }
                skipSpace(b, &i)
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw Invalid() }
                i += 1
                fields[key] = try parseValue(b, &i, depth: depth + 1)
                skipSpace(b, &i)
                guard i < b.count else { throw Invalid() }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                guard b[i] == UInt8(ascii: "}") else { throw Invalid() }
                i += 1
                return .object(fields)
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace(b, &i)
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                items.append(try parseValue(b, &i, depth: depth + 1))
                skipSpace(b, &i)
                guard i < b.count else { throw Invalid() }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                guard b[i] == UInt8(ascii: "]") else { throw Invalid() }
                i += 1
                return .array(items)
            }
        case UInt8(ascii: "\""):
            i += 1
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            while i < b.count, b[i] != UInt8(ascii: "\"") {
                if b[i] == UInt8(ascii: "\\") {
                    scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
                    raw = []
                    i += 1
                    guard i < b.count else { throw Invalid() }
                    switch b[i] {
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "b"): scalars.append("\u{8}")
                    case UInt8(ascii: "f"): scalars.append("\u{C}")
                    case UInt8(ascii: "u"):
                        guard i + 4 < b.count, let code = UInt32(String(decoding: b[(i + 1)...(i + 4)], as: UTF8.self), radix: 16) else { throw Invalid() }
                        scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                        i += 4
                    default: scalars.append(Unicode.Scalar(b[i]))
                    }
                } else {
                    raw.append(b[i])
                }
                i += 1
            }
            guard i < b.count else { throw Invalid() }
            i += 1
            scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            return .string(String(scalars))
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            for (word, value) in [("true", JSONValue.bool(true)), ("false", .bool(false)), ("null", .null)] where b[i...].starts(with: word.utf8) {
                i += word.utf8.count
                return value
            }
            throw Invalid()
        default:
            let start = i
            while i < b.count, "+-0123456789.eE".utf8.contains(b[i]) { i += 1 }
            guard i > start, let v = Double(String(decoding: b[start..<i], as: UTF8.self)), v.isFinite else { throw Invalid() }
            return .number(v)
        }
    }
}
