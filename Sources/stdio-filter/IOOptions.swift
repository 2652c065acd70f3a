import ArgumentParser
import FilterKit

/// Options of the commands that read volumes: which planes of a TIFF hyperstack.
struct InputOptions: ParsableArguments {
    @Option(help: ArgumentHelp("TIFF hyperstack input: the channel to read (1 = first).", valueName: "n"))
    var channel: Int = 1

    @Option(help: ArgumentHelp("TIFF hyperstack input: the frame (time point) to read (1 = first).", valueName: "n"))
    var frame: Int = 1

    @Flag(name: .customLong("channels-as-z"), help: "TIFF input: read the channels of an ImageJ stack of one slice as its Z sections (tifffile saves a 3-D array without axes='ZYX' as channels).")
    var channelsAsSections = false

    func validate() throws {
        if channel < 1 { throw ValidationError("--channel counts from 1 (got \(channel))") }
        if frame < 1 { throw ValidationError("--frame counts from 1 (got \(frame))") }
    }

    /// Opens the input (a path, or `-` for stdin) in whatever format it is.
    func openInput(_ input: String, memoryBudget: Int, console: Console) throws -> (InputSource, VolumeReader) {
        try openVolume(input, memoryBudget: memoryBudget, selection: TIFFSelection(channel: channel, frame: frame, channelsAsSections: channelsAsSections), console: console)
    }
}

/// Options of the commands that read and write volumes: the input's, output format and TIFF compression.
struct IOOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Output format when the output's extension does not say (stdout): mrc or tiff (default mrc).", valueName: "format"))
    var format: VolumeFormat?

    @Option(help: ArgumentHelp("TIFF output compression: none, deflate, zstd or lzw (with the type's predictor).", valueName: "method"))
    var compression: TIFFWriter.Compression = .none

    @OptionGroup var input: InputOptions

    /// The output format: `--format`, else the output path's extension, else MRC.
    func outputFormat(for output: String) throws -> VolumeFormat {
        let named = VolumeFormat.forPath(output)
        if let format, let named, format != named {
            throw ValidationError("--format \(format.rawValue) contradicts the output name \(output)")
        }
        return format ?? named ?? .mrc
    }

    /// Opens the input (a path, or `-` for stdin) in whatever format it is.
    func openInput(_ path: String, memoryBudget: Int, console: Console) throws -> (InputSource, VolumeReader) {
        try input.openInput(path, memoryBudget: memoryBudget, console: console)
    }

    /// Creates the output (a path, or `-` for stdout) in the chosen format.
    func createOutput(_ output: String, info: VolumeInfo, operation: String, protecting inputs: [InputSource], console: Console) throws -> any VolumeWriter {
        let format = try outputFormat(for: output)
        let target = try OutputTarget.create(output, protecting: inputs)
        let writer = try format.makeWriter(target, info: info, operation: operation, compression: compression)
        writer.warnings.forEach(console.warn)
        return writer
    }
}

/// Opens a volume (a path, or `-` for stdin) in whatever format it is, showing the reader's warnings.
func openVolume(
    _ path: String, memoryBudget: Int, selection: TIFFSelection = TIFFSelection(), console: Console
) throws -> (InputSource, VolumeReader) {
    let source = try InputSource.open(path)
    let reader = try VolumeFormat.openReader(source, memoryBudget: memoryBudget, selection: selection)
    reader.warnings.forEach(console.warn)
    return (source, reader)
}

extension VolumeFormat: ExpressibleByArgument {}
extension TIFFWriter.Compression: ExpressibleByArgument {}
