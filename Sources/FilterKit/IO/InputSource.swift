#if canImport(Glibc)
import Glibc
#endif

/// A byte stream to read a volume from: a regular file (random access), or a pipe (sequential).
///
/// Compressed files (gzip, bzip2, xz, zstd) are recognised by their magic bytes and read through
/// the system decompressor as a sequential stream.
public final class InputSource {
    /// The name used in messages: the path, or `stdin`.
    public let name: String
    /// The path opened, or nil for standard input.
    public let path: String?
    /// Whether ``read(at:into:)`` works (regular, uncompressed files).
    public let isSeekable: Bool
    /// The size in bytes for regular uncompressed files.
    public let fileSize: Int64?
    /// Device and inode of the underlying file, to refuse writing over it.
    public let identity: (device: UInt64, inode: UInt64)?
    /// Bytes consumed so far by sequential reads (including peeked bytes once read).
    public private(set) var position: Int64 = 0

    private var fd: Int32
    private let ownsDescriptor: Bool
    private var pushback: [UInt8] = []
    private var decompressor: pid_t?
    private var decompressorName = ""

    /// Opens `path`, or standard input when `path` is nil or `-`.
    public static func open(_ path: String?) throws -> InputSource {
        if let path, path != "-" {
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw FilterError.system(source: path, operation: "open", errno: errno) }
            return try InputSource(fd: fd, owns: true, name: path, path: path)
        }
        return try InputSource(fd: 0, owns: false, name: "stdin", path: nil)
    }

    /// Reads from an already open descriptor, which the source then owns and closes.
    ///
    /// - Parameter name: the name used in messages.
    public static func adopting(fileDescriptor fd: Int32, name: String) throws -> InputSource {
        try InputSource(fd: fd, owns: true, name: name, path: nil)
    }

    private init(fd: Int32, owns: Bool, name: String, path: String?) throws {
        self.fd = fd
        self.ownsDescriptor = owns
        self.name = name
        self.path = path
        let st: stat
        do { st = try SystemCalls.status(fd, source: name) } catch {
            if owns { Glibc.close(fd) }
            throw error
        }
        if SystemCalls.isDirectory(st) {
            if owns { Glibc.close(fd) }
            throw FilterError.unsupported(source: name, what: "is a directory", hint: "give a volume file")
        }
        let regular = SystemCalls.isRegularFile(st)
        if SystemCalls.isFIFO(st) { SystemCalls.enlargePipeBuffer(fd) }
        identity = regular ? (UInt64(st.st_dev), UInt64(st.st_ino)) : nil
        // A regular file on stdin may start mid-file (`( read; cmd ) < f`): only treat it as
        // random access when it is positioned at its start.
        let atStart = !regular || lseek(fd, 0, SEEK_CUR) == 0
        var seekable = regular && atStart
        var size: Int64? = seekable ? Int64(st.st_size) : nil
        var magic = [UInt8](repeating: 0, count: 6)
        let got: Int
        if seekable {
            got = try magic.withUnsafeMutableBytes { try SystemCalls.preadFully(fd, $0, at: 0, source: name) }
        } else {
            got = 0
        }
        if got >= 4, let program = InputSource.decompressor(forMagic: Array(magic[0..<got])) {
            let (pipeFD, pid) = try InputSource.startDecompressor(program, reading: fd, name: name)
            if owns { Glibc.close(fd) }
            self.fd = pipeFD
            decompressor = pid
            decompressorName = program
            seekable = false
            size = nil
        }
        self.isSeekable = seekable
        self.fileSize = size
    }

    deinit { try? close() }

    /// The first bytes of the stream without consuming them (fewer at end of file).
    public func peek(_ count: Int) throws -> [UInt8] {
        if isSeekable {
            var bytes = [UInt8](repeating: 0, count: count)
            let n = try bytes.withUnsafeMutableBytes { try SystemCalls.preadFully(fd, $0, at: position, source: name) }
            return Array(bytes[0..<n])
        }
        if pushback.count < count {
            var more = [UInt8](repeating: 0, count: count - pushback.count)
            let n = try more.withUnsafeMutableBytes { try SystemCalls.readFully(fd, $0, source: name) }
            pushback += more[0..<n]
        }
        return Array(pushback.prefix(count))
    }

    /// Reads sequentially until `buffer` is full or the stream ends; returns the bytes read.
    @discardableResult
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        var done = 0
        if !pushback.isEmpty {
            done = min(pushback.count, buffer.count)
            pushback.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: done) }
            pushback.removeFirst(done)
        }
        if done < buffer.count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[done...])
            done += isSeekable
                ? try SystemCalls.preadFully(fd, rest, at: position + Int64(done), source: name)
                : try SystemCalls.readFully(fd, rest, source: name)
        }
        position += Int64(done)
        if done < buffer.count { try checkDecompressor() }
        return done
    }

    /// The descriptor of a seekable file, for a copy inside the kernel (``OutputTarget/copyBytes(from:at:count:to:)``);
    /// nil for pipes and decompressed streams.
    public var fileDescriptor: Int32? { isSeekable && decompressor == nil && pushback.isEmpty ? fd : nil }

    /// Reads at an absolute byte offset (seekable sources only) without moving ``position``.
    public func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard isSeekable else { throw FilterError.notSeekable(source: name, operation: "random access") }
        return try SystemCalls.preadFully(fd, buffer, at: offset, source: name)
    }

    /// Moves the sequential position forward by `count` bytes; returns how many were skipped.
    @discardableResult
    public func skip(_ count: Int64) throws -> Int64 {
        if isSeekable {
            let available = max(0, (fileSize ?? 0) - position)
            let n = min(count, available)
            position += n
            return n
        }
        var remaining = count
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { chunk.deallocate() }
        while remaining > 0 {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: chunk[0..<Int(min(remaining, 1 << 16))]))
            if n == 0 { break }
            remaining -= Int64(n)
        }
        return count - remaining
    }

    /// Closes the descriptor and reaps a decompressor. Safe to call twice.
    public func close() throws {
        if ownsDescriptor || decompressor != nil, fd >= 0 {
            Glibc.close(fd)
        }
        fd = -1
        if let pid = decompressor {
            decompressor = nil
            kill(pid, SIGTERM)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
    }

    // MARK: - Decompression

    /// The decompressor command for a compressed stream's magic bytes, or nil when not compressed.
    static func decompressor(forMagic m: [UInt8]) -> String? {
        if m.count >= 2, m[0] == 0x1F, m[1] == 0x8B { return "gzip" }
        if m.count >= 3, m[0] == 0x42, m[1] == 0x5A, m[2] == 0x68 { return "bzip2" }
        if m.count >= 6, m[0] == 0xFD, m[1] == 0x37, m[2] == 0x7A, m[3] == 0x58, m[4] == 0x5A, m[5] == 0 {
            return "xz"
        }
        if m.count >= 4, m[0] == 0x28, m[1] == 0xB5, m[2] == 0x2F, m[3] == 0xFD { return "zstd" }
        return nil
    }

    /// Starts `program -dc` reading `fd`; returns the read end of its output pipe and its pid.
    private static func startDecompressor(_ program: String, reading fd: Int32, name: String) throws -> (Int32, pid_t) {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else {
            throw FilterError.system(source: name, operation: "pipe", errno: errno)
        }
        _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fd, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(program), strdup("-dc"), nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, program, &actions, nil, argv, environ)
        Glibc.close(pipeFDs[1])
        guard rc == 0 else {
            Glibc.close(pipeFDs[0])
            throw FilterError.unsupported(
                source: name, what: "\(program)-compressed, but \(program) could not be started",
                hint: "install \(program) or decompress the file first")
        }
        return (pipeFDs[0], pid)
    }

    /// After end of stream from a decompressor: its exit status says whether the data was whole.
    private func checkDecompressor() throws {
        guard let pid = decompressor else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        decompressor = nil
        let exited = (status & 0x7F) == 0
        let code = (status >> 8) & 0xFF
        if !exited || code != 0 {
            throw FilterError.helperFailed(source: name, program: decompressorName, status: exited ? code : -1)
        }
    }
}
