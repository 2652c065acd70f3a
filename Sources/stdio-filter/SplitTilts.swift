import ArgumentParser
import FilterKit
import Foundation
import S2SFilter
import StageCatalog
import Tomography
#if canImport(Glibc)
import Glibc
#endif

/// `stdio-filter split-tilts --tilts T IN FIRST SECOND`: the two sub-tomograms of alternate tilts
/// of a weighted back-projection, recovered from the tomogram alone (``BackProjectionSplit``).
struct SplitTilts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split-tilts",
        abstract: "Split a back-projected tomogram into the sub-tomograms of alternate tilts (independent noise, for n2n).",
        discussion: """
            A weighted back-projection is, in every plane perpendicular to the tilt axis, a sum of
            one profile per tilt smeared along its beam direction. Given the tilt angles, this
            command solves for those profiles (least squares per plane, conjugate gradients) and
            writes the reconstruction of the even-numbered tilts (in angle order) and that of the
            odd-numbered ones, each at the input's scale: two volumes whose noise comes from
            different exposures, as a reconstruction from even and odd tilts would give, for
            `stdio-filter n2n FIRST SECOND OUT` (s2s --tilts does both). The tilt axis (Y or X), the
            sign of the angles and each tilt's sub-voxel position are found from the volume; the
            fit's residual is printed and a volume that is not such a sum (filtered, binned or
            rotated after reconstruction, other angles) is refused when it exceeds --max-residual.
            Reads the whole volume (three copies in memory).

            Examples:
              stdio-filter split-tilts --tilts -60:60:3 tomo.mrc even.mrc odd.mrc
              stdio-filter split-tilts --tilts tomo.tlt tomo.mrc even.mrc odd.mrc
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var io: IOOptions
    @OptionGroup var tiltOptions: TiltOptions

    @Argument(help: ArgumentHelp("Input tomogram, or '-' for stdin.", valueName: "input"))
    var input: String

    @Argument(help: ArgumentHelp("Where the even-numbered tilts' reconstruction goes.", valueName: "first"))
    var first: String

    @Argument(help: ArgumentHelp("Where the odd-numbered tilts' reconstruction goes.", valueName: "second"))
    var second: String

    func run() throws {
        let console = Console(command: "split-tilts", quiet: global.quiet)
        try console.run {
            guard first != second, first != "-" || second != "-" else {
                throw FilterError.unsupported(source: "split-tilts \(first) \(second)", what: "both halves would go to the same place", hint: "give two different paths")
            }
            try splitTomogram(input: input, into: (first, second), tilts: tiltOptions, global: global, io: io, console: console)
        }
    }
}

/// The tilt geometry options of `split-tilts` and `s2s --tilts`.
struct TiltOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("The tilt angles the tomogram was reconstructed from: FIRST:LAST:STEP in degrees (-60:60:3), a file with one angle per line (IMOD .tlt), or auto (found from the volume's power spectrum). Each is refined on the volume.", valueName: "angles"))
    var tilts: String

    @Option(name: .customLong("tilt-axis"), help: ArgumentHelp("The tilt axis in the volume: auto (the one that fits), y or x.", valueName: "axis"))
    var axis: String = "auto"

    @Option(name: .customLong("max-residual"), help: ArgumentHelp("Refuse a volume that the back-projection of these tilts fits worse than this (relative).", valueName: "r"))
    var maxResidual: Double = 0.05

    func validate() throws {
        guard ["auto", "x", "y"].contains(axis) else { throw ValidationError("--tilt-axis: \(axis) is not auto, x or y") }
        guard maxResidual > 0, maxResidual <= 1 else { throw ValidationError("--max-residual: \(maxResidual) is not in (0, 1]") }
        if tilts != "auto" {
            do { _ = try TiltAngles(parsing: tilts) } catch let error as FilterError { throw ValidationError("\(error)") }
        }
    }

    var axes: [BackProjectionSplit.Axis] { axis == "auto" ? BackProjectionSplit.Axis.allCases : [BackProjectionSplit.Axis(rawValue: axis)!] }
}

/// Reads `input` whole, splits it into the reconstructions of alternate tilts and writes them
/// (in `halvesFormat`, else as `io` says for each path), holding three volumes within `budget`.
func splitTomogram(
    input: String, into outputs: (String, String), tilts options: TiltOptions, global: GlobalOptions, io: IOOptions,
    halvesFormat: VolumeFormat? = nil, budget: Int? = nil, console: Console
) throws {
    let budget = budget ?? global.memoryBytes
    let (source, reader) = try io.openInput(input, memoryBudget: budget, console: console)
    let size = reader.info.size
    let needed = 3 * size.voxelCount * 4 + MemoryPlan.runtimeOverhead
    guard needed <= budget else {
        throw FilterError.memoryBudget(what: "split-tilts of \(size) voxels (the volume and both halves in memory)", needed: needed, budget: budget)
    }
    guard size.z >= 8, size.x >= 8, size.y >= 8 else {
        throw FilterError.unsupported(source: source.name, what: "a volume of \(size) voxels", hint: "split-tilts needs at least 8 voxels along each axis")
    }
    var volume = [Float](repeating: 0, count: size.voxelCount)
    try volume.withUnsafeMutableBufferPointer { try reader.readSections(0..<size.z, into: $0.baseAddress!) }
    let start = ProgressReporter.now()
    let angles: TiltAngles
    var axes = options.axes
    let detected = options.tilts == "auto"
    if detected {
        guard let detection = try volume.withUnsafeBufferPointer({ try TiltAngleDetector.detect($0.baseAddress!, size: size, axes: axes) }) else {
            throw FilterError.unsupported(
                source: source.name, what: "a volume whose power spectrum shows no tilt series (no comb of at least 4 peaks over the angle)",
                hint: "give the angles with --tilts FIRST:LAST:STEP or a .tlt file; a tomogram filtered after its back-projection cannot be split")
        }
        angles = try TiltAngles(degrees: detection.degrees)
        axes = [detection.axis]
        console.note(String(format: "found %d tilts about %@ in the power spectrum (peaks %.1f× its median): %@", detection.degrees.count, detection.axis.rawValue.uppercased(), detection.contrast, detection.degrees.map { String(format: "%.1f", $0) }.joined(separator: " ")))
    } else {
        angles = try TiltAngles(parsing: options.tilts)
    }
    let split = BackProjectionSplit(angles: angles)
    let fit = try volume.withUnsafeBufferPointer {
        try split.fitGeometry($0.baseAddress!, size: size, axes: axes, signs: detected ? [1] : [1, -1], angleSearch: detected ? 0.8 : 0.1)
    }
    let moved = zip(fit.degrees, angles.degrees).map { abs($0 - $1) }.max() ?? 0
    console.note("\(angles): \(fit) on sample planes, angles refined by up to \(String(format: "%.3f", moved))° (\(String(format: "%.1f", ProgressReporter.now() - start)) s)")
    guard fit.residual <= options.maxResidual else {
        throw FilterError.unsupported(
            source: source.name,
            what: String(format: "a volume that the back-projection of %@ fits with a residual of %.1f %% (at most %.1f %%)", angles.description, fit.residual * 100, options.maxResidual * 100),
            hint: "check the angles (--tilts); a tomogram filtered, binned or rotated after its weighted back-projection cannot be split")
    }
    var first = [Float](repeating: 0, count: size.voxelCount), second = first
    let planeCount = fit.axis == .y ? size.y : size.x
    let progress = ProgressReporter(label: "split-tilts", total: planeCount, unit: "planes", enabled: !global.quiet)
    let residual = volume.withUnsafeBufferPointer { v in
        first.withUnsafeMutableBufferPointer { a in
            second.withUnsafeMutableBufferPointer { b in
                split.split(v.baseAddress!, size: size, fit: fit, first: a.baseAddress!, second: b.baseAddress!, progress: progress.update)
            }
        }
    }
    progress.finish()
    console.note(String(format: "split %d planes in %@ s, residual %.2f %%", planeCount, String(format: "%.1f", ProgressReporter.now() - start), residual * 100))
    var writers: [any VolumeWriter] = []
    do {
        for (path, index) in [(outputs.0, 0), (outputs.1, 1)] {
            var info = reader.info
            info.labels[0] = String("stdio-filter split-tilts: \(index == 0 ? "even" : "odd")-numbered tilts of \(angles)".prefix(80))
            var writeOptions = io
            if let halvesFormat { writeOptions.format = halvesFormat; writeOptions.compression = .none }
            let writer = try writeOptions.createOutput(path, info: info, operation: "split-tilts", protecting: [source], console: console)
            writers.append(writer)
            if index == 0 {
                try first.withUnsafeMutableBufferPointer { try writer.writeRows(size.z * size.y, from: $0.baseAddress!) }
            } else {
                try second.withUnsafeMutableBufferPointer { try writer.writeRows(size.z * size.y, from: $0.baseAddress!) }
            }
        }
        try writers.forEach { try $0.finish() }
    } catch {
        writers.forEach { $0.abort() }
        throw error
    }
}

/// `s2s --tilts T IN OUT`: splits the tomogram (a file or a pipe, read once) into the
/// reconstructions of alternate tilts (in `$TMPDIR`, removed afterwards) and runs `n2n` on them
/// with the other parameters given.
func runSplitHalves(given: [(String, String)], paths: [String], global: GlobalOptions, chainOptions: ChainOptions, io: IOOptions) throws {
    let console = Console(command: S2SFactory.name, quiet: global.quiet)
    guard paths.count <= 2 else {
        throw ValidationError("too many paths: \(paths.joined(separator: " ")) (give at most an input and an output)")
    }
    guard chainOptions.pair == nil else {
        throw ValidationError("s2s --tilts makes its two halves from the one input: --pair does not apply (with halves of your own, run n2n)")
    }
    let halfParameters = Set(N2NFactory.parameters.map(\.name))
    var tiltArguments: [String] = []
    var forwarded: [(String, String)] = []
    for (key, value) in given {
        if S2SFactory.tiltParameters.contains(key) {
            tiltArguments += ["--\(key)", value]
        } else if halfParameters.contains(key) {
            forwarded.append((key, value))
        } else {
            throw ValidationError("s2s --tilts trains n2n on the two halves split from the tomogram: --\(key) does not apply there (it sets the masks or the distillation)")
        }
    }
    let tiltOptions: TiltOptions
    do { tiltOptions = try TiltOptions.parse(tiltArguments) } catch { throw ValidationError("s2s --tilts: " + TiltOptions.message(for: error)) }
    // The stage is made (its parameters checked, and the split's against s2s's schema) before any work.
    let stages = try makeStages(command: S2SFactory.name, quiet: global.quiet) {
        _ = try stageRegistry.makeChain([ChainSpec.Element(name: S2SFactory.name, parameters: given.filter { $0.0 != "tilts" })])
        return try stageRegistry.makeChain([ChainSpec.Element(name: N2NFactory.name, parameters: forwarded)])
    }
    let input = paths.first ?? "-"
    let output = paths.count > 1 ? paths[1] : "-"
    let operation = ([S2SFactory.name] + given.map { "\($0.0)=\($0.1)" }).joined(separator: " ")
    try console.run {
        try refuseTerminalOutput(output)
        // The output is written by a run whose input is a half, so the user's input is guarded here.
        var a = stat(), b = stat()
        if input != "-", output != "-", stat(input, &a) == 0, stat(output, &b) == 0, a.st_dev == b.st_dev, a.st_ino == b.st_ino {
            throw FilterError.outputIsInput(path: output)
        }
        var template = Array(FileManager.default.temporaryDirectory.appendingPathComponent("stdio-filter-halves-XXXXXX").path.utf8CString)
        guard let made = mkdtemp(&template) else {
            throw FilterError.system(source: String(cString: template), operation: "create the directory for the two halves", errno: errno)
        }
        let directory = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let halves = (directory + "/even-tilts.mrc", directory + "/odd-tilts.mrc")
        console.warn("--tilts is experimental: n2n on the split halves may leave stripes along the tilt axis (docs/benchmarks.md, issue 16)")
        try splitTomogram(input: input, into: halves, tilts: tiltOptions, global: global, io: io, halvesFormat: .mrc, budget: global.memoryBytes(for: stages), console: console)
        var options = chainOptions
        options.pair = halves.1
        try ChainRunner.run(
            stages: stages, input: halves.0, output: output,
            global: global, chain: options, io: io, command: S2SFactory.name, operation: operation)
    }
}
