import FilterKit
#if canImport(Glibc)
import Glibc
#endif

/// Fuzz inputs as files in memory (an unlinked file in `/dev/shm`, rewritten for every input):
/// the readers under test take a path and run exactly as they do on disk files.
public enum MemoryFile {
    /// The open, already unlinked file, reached through `/proc/self/fd`.
    nonisolated(unsafe) private static let descriptor: Int32 = {
        let path = "/dev/shm/stdio-filter-fuzz-\(getpid())"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(fd >= 0, "cannot create \(path): errno \(errno)")
        unlink(path)
        return fd
    }()

    /// Calls `body` with a path to a file holding `bytes`, valid during the call.
    public static func withPath<T>(_ bytes: UnsafeRawBufferPointer, _ body: (String) throws -> T) rethrows -> T {
        let fd = descriptor
        precondition(ftruncate(fd, 0) == 0)
        var written = 0
        while written < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + written, bytes.count - written, off_t(written))
            precondition(n > 0, "write to \(fd) failed: errno \(errno)")
            written += n
        }
        return try body("/proc/self/fd/\(fd)")
    }

    /// Opens `path` as the tool does and, when that works, reads every section (the input is
    /// small, so a volume that opens holds little data) and every warning.
    public static func readVolume(at path: String) {
        guard let source = try? InputSource.open(path),
            let reader = try? VolumeFormat.openReader(source, memoryBudget: 64 << 20, spoolDirectory: "/tmp")
        else { return }
        let size = reader.info.size
        guard size.sectionVoxels <= 1 << 22 else { return }
        let section = UnsafeMutablePointer<Float>.allocate(capacity: size.sectionVoxels)
        defer { section.deallocate() }
        for z in 0..<size.z {
            do { try reader.readSections(z..<(z + 1), into: section) } catch { return }
        }
        _ = reader.warnings
    }
}
