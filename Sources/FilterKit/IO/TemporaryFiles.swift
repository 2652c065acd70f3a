import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Paths of files that must not survive the process: partial outputs and spool files.
///
/// On `SIGINT`, `SIGTERM` or `SIGHUP` the handler unlinks every registered path (with the
/// async-signal-safe `unlink`) and re-raises the signal with its default action, so the exit status
/// still says which signal ended the run.
public enum TemporaryFiles {
    private static let capacity = 64
    /// Fixed slots of `strdup`ed paths; read by the signal handler, so no Swift arrays or locks.
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        p.initialize(repeating: nil, count: capacity)
        return p
    }()
    nonisolated(unsafe) private static var handlersInstalled = false
    /// Serialises register/unregister between threads (the signal handler only reads the slots).
    private static let lock = Mutex(())

    /// Remembers `path` for removal if the process is interrupted.
    public static func register(_ path: String) {
        lock.withLock { _ in
            installHandlersOnce()
            for i in 0..<capacity where slots[i] == nil {
                slots[i] = strdup(path)
                return
            }
        }
    }

    /// Forgets `path` (after it was renamed into place or removed).
    public static func unregister(_ path: String) {
        lock.withLock { _ in
            for i in 0..<capacity {
                if let p = slots[i], String(cString: p) == path {
                    slots[i] = nil
                    free(p)
                }
            }
        }
    }

    /// Unlinks every registered path; safe to call from a signal handler.
    static func unlinkAll() {
        for i in 0..<capacity {
            if let p = slots[i] { unlink(p) }
        }
    }

    private static func installHandlersOnce() {
        guard !handlersInstalled else { return }
        handlersInstalled = true
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { received in
                TemporaryFiles.unlinkAll()
                signal(received, SIG_DFL)
                raise(received)
            }
        }
    }
}
