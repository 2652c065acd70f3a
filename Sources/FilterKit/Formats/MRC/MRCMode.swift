/// The MRC MODE numbers this package reads and writes and the element type stored under each:
/// the one table that the reader, the writer and the command line's `--mode` use.
public enum MRCMode {
    /// MODE → element type, in MODE order. Mode 0 is listed as signed bytes (MRC2014); the reader
    /// decides a mode-0 file's signedness from its header (``MRCLayout``).
    public static let table: [(mode: Int, type: ElementType)] = [
        (0, .int8), (1, .int16), (2, .float32), (6, .uint16), (12, .float16), (101, .uint4),
    ]

    /// The modes `--mode` can ask for (4-bit output is not offered: it is only passed through).
    public static let outputModes: [Int] = [0, 1, 2, 6, 12]

    /// Modes MRC2014 defines that are recognised (they tell the byte order) but refused: complex
    /// (3, 4) and RGB (16).
    public static let refusedModes: [Int] = [3, 4, 16]

    /// The element type stored under `mode`, or nil for a mode this package does not read.
    @inlinable
    public static func type(of mode: Int) -> ElementType? {
        table.first { $0.mode == mode }?.type
    }

    /// The MODE that stores `type` (unsigned bytes: mode 0, as IMOD writes them).
    @inlinable
    public static func mode(for type: ElementType) -> Int {
        type == .uint8 ? 0 : table.first { $0.type == type }!.mode
    }

    /// The output type for `--mode` `mode`, or nil when `mode` is not one of ``outputModes``.
    public static func outputType(forMode mode: Int) -> ElementType? {
        outputModes.contains(mode) ? type(of: mode) : nil
    }

    /// "0, 1, 2, 6, 12, 101": the modes read, for the header checks' messages.
    public static var readableCommaList: String { table.map { String($0.mode) }.joined(separator: ", ") }
    /// "0, 1, 2, 6, 12 and 101": the modes read, for messages.
    public static var readableList: String { list(table.map(\.mode), last: "and") }
    /// "0, 1, 2, 6 or 12": the modes `--mode` takes, for messages.
    public static var outputList: String { list(outputModes, last: "or") }

    static func list(_ modes: [Int], last: String) -> String {
        modes.dropLast().map(String.init).joined(separator: ", ") + " \(last) \(modes.last!)"
    }
}
