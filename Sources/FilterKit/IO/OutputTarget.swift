#if canImport(Glibc)
import Glibc
#endif
import CSystem

/// Where a volume is written: a file (created under a temporary name and renamed into place on
/// ``commit()``), or standard output.
///
/// A file output never replaces an input: creating one fails with ``FilterError/outputIsInput(path:)``
/// when the path names the same file as one of the inputs. On failure, ``discard()`` (also run by
/// `deinit` and by the signal handler of ``TemporaryFiles``) removes the temporary file.
public final class OutputTarget {
    /// The name used in messages: the final path, or `stdout`.
    public let name: String
    /// The final path, or nil for standard output.
    public let path: String?
    /// Whether bytes already written can be rewritten (regular files, including a redirected stdout).
    public let isSeekable: Bool

    private var fd: Int32
    private let temporaryPath: String?
    /// Offset of the first byte we wrote (stdout redirected to a file may not start at 0).
    private let startOffset: Int64
    private var committed = false
    /// Whether `fd` was opened here for a non-regular output path (closed on commit or discard).
    private var ownsDescriptor = false

    /// Opens `path` for writing, or standard output when `path` is nil or `-`.
    ///
    /// - Parameter inputs: sources this run reads; the output must not be one of them.
    public static func create(_ path: String?, protecting inputs: [InputSource]) throws -> OutputTarget {
        if let path, path != "-" {
            return try OutputTarget(path: path, inputs: inputs)
        }
        return try OutputTarget(stdoutProtecting: inputs)
    }

    private init(path: String, inputs: [InputSource]) throws {
        name = path
        self.path = path
        var st = stat()
        if stat(path, &st) == 0 {
            if SystemCalls.isDirectory(st) {
                throw FilterError.unsupported(source: path, what: "is a directory", hint: "give an output file name")
            }
            if inputs.contains(where: { $0.identity.map { $0 == (UInt64(st.st_dev), UInt64(st.st_ino)) } ?? false }) {
                throw FilterError.outputIsInput(path: path)
            }
            if !SystemCalls.isRegularFile(st) {
                // A device (/dev/null), FIFO or socket is written in place, as a stream: renaming a
                // file over it would replace the device node itself.
                let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
                guard fd >= 0 else { throw FilterError.system(source: path, operation: "open for writing", errno: errno) }
                if SystemCalls.isFIFO(st) { SystemCalls.enlargePipeBuffer(fd) }
                self.fd = fd
                temporaryPath = nil
                ownsDescriptor = true
                isSeekable = false
                startOffset = 0
                return
            }
        }
        let (directory, base) = OutputTarget.split(path)
        var template = Array("\(directory)/.\(base).stdio-filter-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw FilterError.system(source: path, operation: "create (in directory \(directory))", errno: errno)
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        TemporaryFiles.register(temporary)
        fchmod(fd, 0o666 & ~OutputTarget.processUmask)
        self.fd = fd
        temporaryPath = temporary
        isSeekable = true
        startOffset = 0
    }

    private init(stdoutProtecting inputs: [InputSource]) throws {
        name = "stdout"
        path = nil
        temporaryPath = nil
        fd = 1
        let st = try SystemCalls.status(1, source: "stdout")
        if SystemCalls.isRegularFile(st),
            inputs.contains(where: { $0.identity.map { $0 == (UInt64(st.st_dev), UInt64(st.st_ino)) } ?? false })
        {
            throw FilterError.outputIsInput(path: "stdout")
        }
        if SystemCalls.isFIFO(st) { SystemCalls.enlargePipeBuffer(1) }
        let appending = (fcntl(1, F_GETFL) & O_APPEND) != 0
        let offset = lseek(1, 0, SEEK_CUR)
        isSeekable = SystemCalls.isRegularFile(st) && !appending && offset >= 0
        startOffset = isSeekable ? Int64(offset) : 0
    }

    deinit { if !committed { discard() } }

    /// The descriptor of the temporary file behind a file output, for writers that seek (libtiff);
    /// nil for standard output. Closed by ``commit()`` or ``discard()``.
    public var fileDescriptor: Int32? { temporaryPath == nil ? nil : fd }

    /// Appends bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try SystemCalls.writeFully(fd, bytes, target: name)
    }

    /// Rewrites bytes at `offset` from the start of this output (seekable outputs only).
    public func rewrite(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        guard isSeekable else { throw FilterError.notSeekable(source: name, operation: "rewriting the header") }
        try SystemCalls.pwriteFully(fd, bytes, at: startOffset + offset, target: name)
    }

    /// Whether bytes can be written and read back anywhere: a file this run created (opened
    /// read-write under its temporary name), not standard output or a device.
    public var isRandomAccess: Bool { temporaryPath != nil }

    /// Writes bytes at `offset` from the start of this output (``isRandomAccess`` outputs only).
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        precondition(isRandomAccess, "positional writes need a file output")
        try SystemCalls.pwriteFully(fd, bytes, at: offset, target: name)
    }

    /// Reads back bytes written at `offset` (``isRandomAccess`` outputs only).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws {
        precondition(isRandomAccess, "reading back needs a file output")
        let got = try SystemCalls.preadFully(fd, buffer, at: offset, source: name)
        guard got == buffer.count else {
            throw FilterError.truncated(source: name, offset: offset + Int64(got), expected: "\(buffer.count) bytes written before")
        }
    }

    /// Copies `count` bytes of `input` from `offset` to `destination` in this output inside the
    /// kernel (`copy_file_range`: no copy through user memory, as `cp` and `cat` do). Returns
    /// false, having written nothing, when the two files cannot be copied between this way (a
    /// pipe, another file system on an old kernel, a file system without it).
    public func copyBytes(from input: InputSource, at offset: Int64, count: Int64, to destination: Int64) throws -> Bool {
        guard isSeekable, let source = input.fileDescriptor else { return false }
        var inOffset = CLongLong(offset)
        var outOffset = CLongLong(startOffset + destination)
        var done: Int64 = 0
        while done < count {
            let n = sf_copy_file_range(source, &inOffset, fd, &outOffset, UInt(min(count - done, 1 << 30)))
            if n > 0 {
                done += Int64(n)
            } else if n == 0 {
                throw FilterError.truncated(source: input.name, offset: Int64(inOffset), expected: "\(count - done) more bytes to copy")
            } else if errno == EINTR {
                continue
            } else if done == 0 && [EXDEV, EINVAL, ENOSYS, EOPNOTSUPP, EBADF].contains(errno) {
                return false
            } else {
                throw FilterError.system(source: name, operation: "copy from \(input.name) at byte \(inOffset)", errno: errno)
            }
        }
        return true
    }

    /// Makes the output final: closes and renames a file into place. Standard output stays open.
    public func commit() throws {
        guard !committed else { return }
        if let temporaryPath, let path {
            guard Glibc.close(fd) == 0 else {
                let code = errno
                discard()
                throw FilterError.system(source: path, operation: "close", errno: code)
            }
            fd = -1
            guard rename(temporaryPath, path) == 0 else {
                let code = errno
                unlink(temporaryPath)
                TemporaryFiles.unregister(temporaryPath)
                throw FilterError.system(source: path, operation: "rename from \(temporaryPath)", errno: code)
            }
            TemporaryFiles.unregister(temporaryPath)
        } else if ownsDescriptor {
            let failed = Glibc.close(fd) != 0
            fd = -1
            committed = true
            if failed { throw FilterError.system(source: name, operation: "close", errno: errno) }
        }
        committed = true
    }

    /// Abandons the output: closes and removes a temporary file. Safe to call more than once.
    public func discard() {
        guard !committed else { return }
        committed = true
        if let temporaryPath {
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
            unlink(temporaryPath)
            TemporaryFiles.unregister(temporaryPath)
        } else if ownsDescriptor, fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    private static func split(_ path: String) -> (directory: String, base: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    /// The process umask, read once (umask can only be read by setting it).
    private static let processUmask: mode_t = {
        let mask = umask(0o022)
        umask(mask)
        return mask
    }()
}
