import ArgumentParser
import Evaluation
import FilterKit

/// `stdio-filter preview`: central sections of volumes as a PNG.
struct PreviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Draw the central XY, XZ and YZ sections of volumes into a PNG, one labelled row per volume.",
        discussion: """
            Each volume is read once as a stream (only three sections are kept). A row shows
            the XY section with YZ beside it (Z to the right) and XZ below it (Z downwards), as
            3dmod and ChimeraX lay them out, under a label (the file name, or --labels), with a
            scale bar in nm when the voxel size is known. Contrast runs from the 1st to the 99th
            percentile of each row's sections (--percentiles), or of all rows together with
            --same-contrast (to compare intensities). The last path is the PNG ('-' for stdout).

            Examples:
              stdio-filter preview tomo.mrc tomo.png
              stdio-filter preview noisy.mrc denoised.mrc clean.mrc compare.png --scale 2 --labels noisy,s2s,clean
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("Volumes (MRC or TIFF), then the PNG to write.", valueName: "paths"))
    var paths: [String] = []

    @Option(help: ArgumentHelp("Lower and upper contrast percentiles, e.g. 1,99.", valueName: "lo,hi"))
    var percentiles: String = "1,99"

    @Option(help: ArgumentHelp("Pixels per voxel along each side (1 to 16).", valueName: "n"))
    var scale: Int = 1

    @Option(help: ArgumentHelp("Row labels, comma-separated, one per volume (default: the file names).", valueName: "a,b,..."))
    var labels: String?

    @Flag(help: "One contrast window for all rows (from all their sections) instead of one per row.")
    var sameContrast = false

    /// The label of each row: `--labels`, else each path's last component.
    var rowLabels: [String] {
        if let labels { return labels.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return paths.dropLast().map { $0 == "-" ? "stdin" : String($0.split(separator: "/").last ?? Substring($0)) }
    }

    var contrast: (Double, Double)? {
        let parts = percentiles.split(separator: ",").compactMap { Double($0) }
        guard parts.count == 2, parts[0] >= 0, parts[1] <= 100, parts[0] < parts[1] else { return nil }
        return (parts[0], parts[1])
    }

    func validate() throws {
        guard paths.count >= 2 else { throw ValidationError("give at least one volume and the PNG to write") }
        guard contrast != nil else { throw ValidationError("--percentiles must be two numbers 0 ≤ lo < hi ≤ 100, such as 1,99 (got \(percentiles))") }
        guard (1...16).contains(scale) else { throw ValidationError("--scale must be 1 to 16 (got \(scale))") }
        if labels != nil, rowLabels.count != paths.count - 1 {
            throw ValidationError("--labels gives \(rowLabels.count) label(s) for \(paths.count - 1) volume(s)")
        }
    }

    func run() throws {
        let console = Console(command: "preview", quiet: global.quiet)
        try console.run {
            let output = paths.last!
            try refuseTerminalOutput(output)
            var sources: [InputSource] = []
            let rows = try paths.dropLast().map { path -> Preview.Sections in
                let (source, reader) = try openVolume(path, memoryBudget: global.memoryBytes, console: console)
                sources.append(source)
                return try Preview.Sections(reading: reader)
            }
            var preview = Preview(rows: rows, labels: rowLabels)
            (preview.lower, preview.upper) = contrast!
            preview.scale = scale
            preview.sameContrast = sameContrast
            try writeWholeFile(preview.png(), to: output, protecting: sources)
            let (w, h) = preview.pixelSize
            console.note("\(output): \(w)×\(h) pixels, \(rows.count) row\(rows.count == 1 ? "" : "s") (XY with YZ beside it and XZ below)")
        }
    }
}

/// Writes `bytes` to `path` (`-`: stdout) as one file: under a temporary name renamed into place,
/// never over an input, nothing left behind on failure.
func writeWholeFile(_ bytes: [UInt8], to path: String, protecting inputs: [InputSource]) throws {
    let target = try OutputTarget.create(path, protecting: inputs)
    do {
        try bytes.withUnsafeBytes { try target.write($0) }
        try target.commit()
    } catch {
        target.discard()
        throw error
    }
}
