/// The file formats volumes are read from and written to.
public enum VolumeFormat: String, CaseIterable, Sendable {
    case mrc, tiff

    /// The format of a stream from its first bytes: TIFF by its magic (`II*\0`, `MM\0*`, and the
    /// BigTIFF variants with 43), MRC otherwise (MRC has no magic at its start).
    public static func detect(magic: [UInt8]) -> VolumeFormat {
        guard magic.count >= 4 else { return .mrc }
        let m = Array(magic.prefix(4))
        return m == [0x49, 0x49, 42, 0] || m == [0x4D, 0x4D, 0, 42] || m == [0x49, 0x49, 43, 0] || m == [0x4D, 0x4D, 0, 43] ? .tiff : .mrc
    }

    /// The format a path's extension names (`.mrc .mrcs .map .rec .st .ali …` → MRC, `.tif .tiff
    /// .btf .tf8` → TIFF), or nil when it names none (such as `-` for standard output).
    public static func forPath(_ path: String?) -> VolumeFormat? {
        guard let path, path != "-", let dot = path.lastIndex(of: ".") else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "tif", "tiff", "btf", "tf8", "ome.tif": return .tiff
        case "mrc", "mrcs", "map", "rec", "st", "ali", "preali", "ccp4", "mrc2014": return .mrc
        default: return nil
        }
    }

    /// Opens a reader for `source`, recognising the format by its first bytes.
    public static func openReader(
        _ source: InputSource, memoryBudget: Int, selection: TIFFSelection = TIFFSelection(), spoolDirectory: String? = nil
    ) throws -> VolumeReader {
        switch detect(magic: try source.peek(4)) {
        case .tiff: return try TIFFReader(source: source, selection: selection, spoolDirectory: spoolDirectory, memoryBudget: memoryBudget)
        case .mrc:
            guard selection == TIFFSelection() else {
                throw FilterError.invalidParameter(
                    name: selection.channelsAsSections ? "channels-as-z" : "channel/frame",
                    value: selection.channelsAsSections ? "on" : "\(selection.channel)/\(selection.frame)",
                    expected: "not for MRC input (channels and frames are TIFF hyperstack options)")
            }
            return try MRCReader(source: source, memoryBudget: memoryBudget)
        }
    }

    /// Makes a writer of this format on `target`.
    public func makeWriter(
        _ target: OutputTarget, info: VolumeInfo, operation: String, compression: TIFFWriter.Compression = .none
    ) throws -> any VolumeWriter {
        switch self {
        case .mrc:
            guard compression == .none else {
                throw FilterError.invalidParameter(name: "compression", value: compression.rawValue, expected: "none for MRC output (compression is a TIFF option)")
            }
            return try MRCWriter(target: target, info: info, operation: operation)
        case .tiff:
            return try TIFFWriter(target: target, info: info, operation: operation, compression: compression)
        }
    }
}
