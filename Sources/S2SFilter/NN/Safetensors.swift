import FilterKit
#if canImport(Glibc)
import Glibc
#endif

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
/// `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}`,
/// then the raw little-endian tensor bytes. Our U-Net's tensors carry PyTorch's names, shapes and
/// layouts, so `load_state_dict(safetensors.torch.load_file(path))` works on `torch_s2s3d.py`'s module.
public enum Safetensors {
    /// A tensor read from a file.
    public struct Entry: Equatable {
        public var shape: [Int]
        public var values: [Float]
    }

    /// Writes `tensors` (in order) with `metadata`, atomically (temporary name, then rename).
    public static func write(_ tensors: [(name: String, shape: [Int], values: UnsafePointer<Float>)], metadata: [String: String], to path: String) throws {
        var header = "{"
        var offset = 0
        var fields: [String] = []
        if !metadata.isEmpty {
            fields.append("\"__metadata__\":{" + metadata.sorted { $0.key < $1.key }.map { "\(JSONText.quoted($0.key)):\(JSONText.quoted($0.value))" }.joined(separator: ",") + "}")
        }
        for t in tensors {
            let bytes = t.shape.reduce(1, *) * 4
            fields.append("\(JSONText.quoted(t.name)):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += fields.joined(separator: ",") + "}"
        // Pad the header with spaces to a multiple of 8 bytes (the format's recommendation).
        while (header.utf8.count % 8) != 0 { header += " " }
        let target = try OutputTarget.create(path, protecting: [])
        do {
            var length = UInt64(header.utf8.count).littleEndian
            try withUnsafeBytes(of: &length) { try target.write($0) }
            try Array(header.utf8).withUnsafeBytes { try target.write($0) }
            for t in tensors {
                try target.write(UnsafeRawBufferPointer(start: t.values, count: t.shape.reduce(1, *) * 4))
            }
            try target.commit()
        } catch {
            target.discard()
            throw error
        }
    }

    /// Reads every tensor and the metadata; F32 only. Errors name the file and what is wrong.
    public static func read(_ path: String) throws -> (tensors: [String: Entry], metadata: [String: String]) {
        // Models are megabytes (the full preset: 12 MB); a gigabyte is no model, and is not read.
        let bytes = try InputSource.contents(of: path, limit: 1 << 30, what: "a model")
        func bad(_ what: String) -> FilterError { .unsupported(source: path, what: "not a valid safetensors file: \(what)", hint: "") }
        guard bytes.count >= 8 else { throw bad("\(bytes.count) bytes") }
        let length = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length <= UInt64(bytes.count - 8), length < 100 << 20 else { throw bad("header length \(length) past the end of the file") }
        let start = 8 + Int(length)
        guard let json = try? JSONValue.parse(Array(bytes[8..<start])), case let .object(fields) = json else { throw bad("the header is not a JSON object") }
        var tensors: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in fields {
            guard case let .object(description) = value else { throw bad("\(name) is not an object") }
            if name == "__metadata__" {
                for (k, v) in description {
                    guard case let .string(text) = v else { throw bad("metadata \(k) is not a string") }
                    metadata[k] = text
                }
                continue
            }
            guard case let .string(dtype)? = description["dtype"], dtype == "F32" else { throw bad("\(name) is not F32") }
            guard case let .array(dims)? = description["shape"], case let .array(range)? = description["data_offsets"], range.count == 2,
                case let .number(b) = range[0], case let .number(e) = range[1]
            else { throw bad("\(name) lacks shape or data_offsets") }
            let shape = try dims.map { d -> Int in
                guard case let .number(n) = d, n >= 0, n == n.rounded(), n < 1e12 else { throw bad("\(name) has a bad shape") }
                return Int(n)
            }
            let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
            guard b >= 0, e >= b, e == e.rounded(), b == b.rounded(), Double(start) + e <= Double(bytes.count), count <= bytes.count, Int(e - b) == count * 4 else {
                // The offsets may be anything JSON holds (1e300, fractions): print them as numbers.
                func text(_ v: Double) -> String { v.magnitude < 1e15 && v == v.rounded() ? String(Int(v)) : "\(v)" }
                throw bad("\(name)'s data_offsets \(text(b))…\(text(e)) do not hold \(shape) floats within the file")
            }
            let from = start + Int(b)
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { $0.copyBytes(from: bytes[from..<(from + count * 4)]) }
            tensors[name] = Entry(shape: shape, values: values.map { Float(bitPattern: $0.bitPattern.littleEndian) })
        }
        return (tensors, metadata)
    }
}
