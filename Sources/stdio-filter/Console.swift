#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FilterKit

/// Messages on stderr: one line each, prefixed with the command that printed them.
struct Console {
    let command: String
    let quiet: Bool

    /// A warning, shown unless `--quiet`.
    func warn(_ message: String) {
        guard !quiet else { return }
        Console.writeLine("stdio-filter \(command): warning: \(message)")
    }

    /// Information (which header value a stage used…), shown unless `--quiet`.
    func note(_ message: String) {
        guard !quiet else { return }
        Console.writeLine("stdio-filter \(command): \(message)")
    }

    /// Writes a line to stderr unbuffered.
    static func writeLine(_ line: String) {
        var text = line
        text.append("\n")
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if n <= 0 { if errno == EINTR { continue } else { return } }
                offset += n
            }
        }
    }

    /// Runs `body`, turning a ``FilterError`` into one line on stderr and the exit status of its
    /// root cause (``FilterError/exitStatus``: 64 for a usage error, else 1), and any other error
    /// into one line and 1. Usage errors from the argument parser keep their own status (64).
    func run(_ body: () throws -> Void) throws {
        // A closed reader of our stdout must surface as EPIPE (a clear error), not kill us silently.
        signal(SIGPIPE, SIG_IGN)
        // Likewise a file-size limit (`ulimit -f`): EFBIG from write, not death by SIGXFSZ, so the
        // partial output is removed and the error named.
        signal(SIGXFSZ, SIG_IGN)
        do {
            try body()
        } catch let error as FilterError {
            Console.writeLine("stdio-filter \(command): error: \(error)")
            throw ExitCode(error.exitStatus)
        } catch let error as ExitCode {
            throw error
        } catch let error as ValidationError {
            throw error
        } catch {
            Console.writeLine("stdio-filter \(command): error: \(error)")
            throw ExitCode.failure
        }
    }
}

/// Builds stages from user parameters: a value out of range is a usage error (exit 64);
/// anything else — a model file that cannot be read, say — is a failure like bad input (exit 1).
/// Either way one line on stderr says why.
func makeStages(command: String, quiet: Bool, _ build: () throws -> [any Stage]) throws -> [any Stage] {
    do {
        return try build()
    } catch let error as FilterError {
        Console.writeLine("stdio-filter \(command): error: \(error)")
        throw ExitCode(error.exitStatus)
    }
}
