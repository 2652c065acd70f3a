#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers over POSIX calls that retry on `EINTR` and report failures as ``FilterError``.
enum SystemCalls {
    /// Repeats `step(done)` (a read or write of the bytes from `done` on) until `count` bytes are
    /// moved or `step` returns 0 (end of file), retrying on `EINTR`; returns the bytes moved.
    private static func transfer(
        _ count: Int, name: String, operation: (Int) -> String, _ step: (Int) -> Int
    ) throws -> Int {
        var done = 0
        while done < count {
            let n = step(done)
            if n > 0 {
                done += n
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw FilterError.system(source: name, operation: operation(done), errno: errno)
            }
        }
        return done
    }

    /// Reads until `buffer` is full or end of file; returns the bytes read.
    static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, source: String) throws -> Int {
        try transfer(buffer.count, name: source, operation: { _ in "read" }) { done in
            Glibc.read(fd, buffer.baseAddress! + done, buffer.count - done)
        }
    }

    /// Reads at `offset` until `buffer` is full or end of file; returns the bytes read.
    static func preadFully(
        _ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int64, source: String
    ) throws -> Int {
        try transfer(buffer.count, name: source, operation: { "read at byte \(offset + Int64($0))" }) { done in
            Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
        }
    }

    /// Writes all of `buffer`.
    static func writeFully(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, target: String) throws {
        let written = try transfer(buffer.count, name: target, operation: { _ in "write" }) { done in
            Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
        }
        if written < buffer.count { throw FilterError.system(source: target, operation: "write", errno: EIO) }
    }

    /// Writes all of `buffer` at `offset` without moving the file position.
    static func pwriteFully(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, at offset: Int64, target: String) throws {
        let written = try transfer(buffer.count, name: target, operation: { _ in "write" }) { done in
            Glibc.pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
        }
        if written < buffer.count { throw FilterError.system(source: target, operation: "write", errno: EIO) }
    }

    /// `fstat` of an open descriptor.
    static func status(_ fd: Int32, source: String) throws -> stat {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FilterError.system(source: source, operation: "stat", errno: errno) }
        return st
    }

    /// Asks the kernel for a 1 MiB buffer on a pipe (default 64 KiB): fewer context switches
    /// between the processes of a pipeline. Best effort: the limit may be lower for non-root users.
    static func enlargePipeBuffer(_ fd: Int32) {
        let setPipeSize: Int32 = 1031  // F_SETPIPE_SZ (Linux); not exported without _GNU_SOURCE
        _ = fcntl(fd, setPipeSize, Int32(1 << 20))
    }

    static func isFIFO(_ st: stat) -> Bool { (st.st_mode & S_IFMT) == S_IFIFO }

    static func isRegularFile(_ st: stat) -> Bool { (st.st_mode & S_IFMT) == S_IFREG }
    static func isDirectory(_ st: stat) -> Bool { (st.st_mode & S_IFMT) == S_IFDIR }
}
