import ArgumentParser
import FilterKit

/// `stdio-filter info`: print an MRC header the way IMOD's `header` does.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print an MRC header (like IMOD's 'header'), with how this tool reads it.",
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
            let reader = try MRCReader(source: source, memoryBudget: global.memory.bytes, requireData: false)
            let report = HeaderReport(reader: reader)
            print(json ? report.json() : report.text(), terminator: "")
            reader.warnings.forEach(console.warn)
        }
    }
}
