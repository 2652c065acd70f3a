extension InputSource {
    /// Reads all of a small file (a model, a statistics file), refusing more than `limit` bytes
    /// before reading them.
    ///
    /// - Parameter what: what the file should be, for the error ("a model").
    public static func contents(of path: String, limit: Int, what: String) throws -> [UInt8] {
        let source = try InputSource.open(path)
        defer { try? source.close() }
        func tooLarge(_ size: String) -> FilterError {
            .unsupported(source: path, what: "not \(what): \(size) (at most \(limit >> 20) MiB)", hint: "")
        }
        if let size = source.fileSize, size > limit { throw tooLarge("\(size) bytes") }
        var bytes: [UInt8] = []
        if let size = source.fileSize { bytes.reserveCapacity(Int(size)) }
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            bytes += chunk[0..<n]
            guard bytes.count <= limit else { throw tooLarge("more than \(limit) bytes") }
        }
        return bytes
    }
}
