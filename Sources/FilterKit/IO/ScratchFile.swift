#if canImport(Glibc)
import Glibc
#endif

/// A temporary file for intermediate data (a spooled pipe, FFT scratch), created in `$TMPDIR`
/// (or `/tmp`) and unlinked at once: it disappears when it is closed or the process ends,
/// however it ends, so an interrupted run leaves nothing behind.
public final class ScratchFile {
    public let fd: Int32
    /// The directory it lives in, for messages.
    public let directory: String
    /// What it holds, for messages (such as `spool of stdin`).
    public let purpose: String

    /// The scratch directory: `directory`, else `$TMPDIR`, else `/tmp`.
    public static func directory(_ directory: String? = nil) -> String {
        directory ?? getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    }

    /// Creates the file; when `bytes` is given, first checks that the file system has that much free.
    public init(purpose: String, directory: String? = nil, bytes: Int64? = nil) throws {
        let base = ScratchFile.directory(directory)
        if let bytes {
            var fs = statvfs()
            if statvfs(base, &fs) == 0 {
                let free = Int64(fs.f_bavail) * Int64(fs.f_frsize)
                if free < bytes {
                    throw FilterError.unsupported(
                        source: base, what: "\(purpose) needs \(ByteCount(Int(bytes))) of scratch space but only \(ByteCount(Int(free))) is free",
                        hint: "set TMPDIR to a directory with more space")
                }
            }
        }
        var template = Array("\(base)/stdio-filter-scratch-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw FilterError.system(source: base, operation: "create a \(purpose) (set TMPDIR to a writable directory)", errno: errno)
        }
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        self.fd = fd
        self.directory = base
        self.purpose = purpose
    }

    deinit { close(fd) }

    /// A scratch file holding what `source` has left to read, from its byte 0 on: a pipe made
    /// seekable (spooled in 4 MiB reads).
    public static func spooling(_ source: InputSource, purpose: String, directory: String? = nil) throws -> ScratchFile {
        let file = try ScratchFile(purpose: purpose, directory: directory)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let n = try source.read(into: chunk)
            if n == 0 { return file }
            try file.append(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
        }
    }

    /// Appends all of `buffer`.
    public func append(_ buffer: UnsafeRawBufferPointer) throws {
        try SystemCalls.writeFully(fd, buffer, target: "\(purpose) in \(directory)")
    }

    /// Writes all of `buffer` at byte `offset`.
    public func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws {
        try SystemCalls.pwriteFully(fd, buffer, at: offset, target: "\(purpose) in \(directory)")
    }

    /// Writes `bytes` bytes from `pointer` at byte `offset` (`writing`), or reads them into it:
    /// for passes that move the same regions out and back.
    public func move(_ pointer: UnsafeMutableRawPointer, bytes: Int, at offset: Int64, writing: Bool) throws {
        if writing {
            try write(UnsafeRawBufferPointer(start: pointer, count: bytes), at: offset)
        } else {
            try read(into: UnsafeMutableRawBufferPointer(start: pointer, count: bytes), at: offset)
        }
    }

    /// Fills all of `buffer` from byte `offset`; a short file is an error.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws {
        let got = try SystemCalls.preadFully(fd, buffer, at: offset, source: "\(purpose) in \(directory)")
        guard got == buffer.count else {
            throw FilterError.truncated(source: "\(purpose) in \(directory)", offset: offset + Int64(got), expected: "\(buffer.count) bytes")
        }
    }
}
