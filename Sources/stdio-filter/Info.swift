import ArgumentParser
import FilterKit

/// `stdio-filter info`: print an MRC header the way IMOD's `header` does.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print an MRC header (like IMOD's 'header'), or a TIFF stack's layout, with how this tool reads it.",
        discussion: """
            Shows the raw fields (in file order: columns, rows, sections), the extended header
            type, byte order, and the interpretation used by every filter: size in X,Y,Z, stored
            type, voxel size in Å, origin and what the sections are. Reads only the header (a pipe
            is consumed but not stored). A truncated data block is reported as a warning.

            Examples:
              stdio-filter info tomo.mrc
              stdio-filter info --json tomo.mrc | jq .voxel_size
              stdio-filter convert --mode 1 < a.mrc | stdio-filter info
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("MRC file, or '-' for stdin.", valueName: "input"))
    var input: String = "-"

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let console = Console(command: "info", quiet: global.quiet)
        try console.run {
            let source = try InputSource.open(input)
            if VolumeFormat.detect(magic: try source.peek(4)) == .tiff {
                let reader = try TIFFReader(source: source, memoryBudget: global.memoryBytes)
                print(json ? Info.json(reader) : Info.text(reader), terminator: "")
                reader.warnings.forEach(console.warn)
                return
            }
            let reader = try MRCReader(source: source, memoryBudget: global.memoryBytes, requireData: false)
            let report = HeaderReport(reader: reader)
            print(json ? report.json() : report.text(), terminator: "")
            reader.warnings.forEach(console.warn)
        }
    }
}

extension Info {
    /// A TIFF stack as this tool reads it.
    static func text(_ reader: TIFFReader) -> String {
        let i = reader.info
        return """
             File: \(reader.sourceName) (TIFF)
             Layout: \(reader.layout)
             Size in X, Y, Z: \(i.size.x) \(i.size.y) \(i.size.z)
             Type: \(i.elementType)
             Voxel size (Å): \(i.voxelSize.x) \(i.voxelSize.y) \(i.voxelSize.z)\(i.voxelSize.x == 0 ? " (unknown)" : "")
             Kind: \(i.kind)

            """
    }

    static func json(_ reader: TIFFReader) -> String {
        let i = reader.info
        let fields = [
            ("source", JSONText.quoted(reader.sourceName)), ("format", JSONText.quoted("tiff")), ("layout", JSONText.quoted(reader.layout)),
            ("size", "[\(i.size.x), \(i.size.y), \(i.size.z)]"), ("element_type", JSONText.quoted("\(i.elementType)")),
            ("voxel_size", "[\(i.voxelSize.x), \(i.voxelSize.y), \(i.voxelSize.z)]"), ("kind", JSONText.quoted("\(i.kind)")),
        ]
        return "{\n" + fields.map { "  \(JSONText.quoted($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }
}
