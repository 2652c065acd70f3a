/// Informational messages from library code (a stage saying which header value it used), for
/// the user on stderr. The command-line tool installs a handler that honours `--quiet`; the
/// default drops messages, so library users and tests stay silent.
public enum Log {
    nonisolated(unsafe) public static var handler: (String) -> Void = { _ in }

    /// Passes `message` (one line, no trailing newline) to the handler.
    public static func info(_ message: String) { handler(message) }
}
