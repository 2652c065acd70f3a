import ArgumentParser
import FilterKit
import Evaluation

/// `synth --tilt-series`: the options of a back-projected phantom (a tilt series imaged with
/// shot noise, then reconstructed), and where its volumes go.
struct TiltSeriesOptions: ParsableArguments {
    @Option(name: .customLong("tilt-series"), parsing: .unconditional, help: ArgumentHelp(
        "Image the cell as a tilt series FIRST:LAST:STEP (degrees, about Y) with shot noise and reconstruct it: the output is the full reconstruction, --clean the noise-free one.",
        valueName: "first:last:step"))
    var tiltSeries: String?

    @Option(help: ArgumentHelp("The order tilts are exposed in: dose-symmetric or sequential.", valueName: "order"))
    var order: TiltScheme.Order = .doseSymmetric

    @Option(help: ArgumentHelp("Electrons per Å² in each tilt (the real series: 120 e/Å² over 41 tilts).", valueName: "e/Å²"))
    var dose: Double = TiltScheme().dosePerTilt

    @Option(name: .customLong("axis-offset"), help: ArgumentHelp("The tilt axis' distance from the volume's centre along X, in voxels.", valueName: "voxels"))
    var axisOffset: Double = 0

    @Option(name: .customLong("axis-angle"), help: ArgumentHelp("The tilt axis' angle from Y in the raw images, in degrees (alignment rotates them by it, which correlates the noise of neighbours).", valueName: "degrees"))
    var axisAngle: Double = TiltSeriesPhantom.Settings().axisAngle

    @Option(help: ArgumentHelp("The reconstruction: wbp (ramp with IMOD's radial fall-off) or sirt-like (IMOD's SIRT-like filter).", valueName: "kind"))
    var reconstruction: TiltSeriesPhantom.Reconstruction = .wbp

    @Option(name: .customLong("sirt-iterations"), help: ArgumentHelp("Iterations the SIRT-like filter stands for.", valueName: "n"))
    var sirtIterations: Int = TiltSeriesPhantom.Settings().sirtIterations

    @Option(help: ArgumentHelp("Phase shift of protein against ice per Å of path, radians (calibrated to the real series' noise level: see docs/benchmarks.md).", valueName: "rad/Å"))
    var phase: Double = TiltSeriesPhantom.Settings().phasePerAngstrom

    @Option(help: ArgumentHelp("Also write the specimen (the cell's density, dark protein, no CTF, no missing wedge): the truth to score against.", valueName: "path"))
    var specimen: String?

    @Option(name: .customLong("tilt-halves"), help: ArgumentHelp("Also write the reconstructions of the even and of the odd tilts.", valueName: "even,odd"))
    var tiltHalves: String?

    @Option(name: .customLong("frame-halves"), help: ArgumentHelp("Also write the reconstructions of two halves of the frames (every tilt, half the dose each), as Warp and AreTomo write them.", valueName: "even,odd"))
    var frameHalves: String?

    /// `even,odd` split into two paths, or a usage error naming the option.
    static func pair(_ text: String?, option: String) throws -> (String, String)? {
        guard let text else { return nil }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw ValidationError("\(option) takes two paths separated by a comma, such as even.mrc,odd.mrc (got \(text))")
        }
        return (parts[0], parts[1])
    }

    /// The phantom's settings on top of `phantom` (nil without --tilt-series).
    func settings(phantom: PhantomSettings) throws -> TiltSeriesPhantom.Settings? {
        guard let tiltSeries else { return nil }
        guard let (first, last, step) = TiltScheme.range(tiltSeries) else {
            throw ValidationError("--tilt-series must be FIRST:LAST:STEP in degrees, such as -60:60:3 (got \(tiltSeries))")
        }
        var s = TiltSeriesPhantom.Settings()
        s.phantom = phantom
        s.scheme.first = first
        s.scheme.last = last
        s.scheme.step = step
        s.scheme.order = order
        s.scheme.dosePerTilt = dose
        s.scheme.axisOffset = axisOffset
        s.axisAngle = axisAngle
        s.reconstruction = reconstruction
        s.sirtIterations = sirtIterations
        s.phasePerAngstrom = phase
        do { try s.validate() } catch let error as FilterError { throw ValidationError("\(error)") }
        return s
    }

    /// The volumes to write besides the full reconstruction (`clean`: the noise-free one).
    func destinations(clean: String?) throws -> [(TiltSeriesPhantom.Volume, String)] {
        var list: [(TiltSeriesPhantom.Volume, String)] = []
        if let clean { list.append((.noiseFree, clean)) }
        if let specimen { list.append((.specimen, specimen)) }
        if let (even, odd) = try TiltSeriesOptions.pair(tiltHalves, option: "--tilt-halves") { list += [(.evenTilts, even), (.oddTilts, odd)] }
        if let (even, odd) = try TiltSeriesOptions.pair(frameHalves, option: "--frame-halves") { list += [(.evenFrames, even), (.oddFrames, odd)] }
        return list
    }
}

extension TiltScheme.Order: ExpressibleByArgument {}
extension TiltSeriesPhantom.Reconstruction: ExpressibleByArgument {}

extension Synth {
    /// Makes a back-projected phantom: the full reconstruction to `output`, the others where asked.
    func runTiltSeries(_ settings: TiltSeriesPhantom.Settings, console: Console) throws {
        let destinations = [(TiltSeriesPhantom.Volume.full, output)] + (try tilts.destinations(clean: clean))
        let paths = destinations.map(\.1)
        if Set(paths).count < paths.count {
            throw FilterError.unsupported(source: "synth \(paths.joined(separator: " "))", what: "two of the volumes would go to the same place", hint: "give different paths")
        }
        let needed = TiltSeriesPhantom.bytes(for: settings, volumes: destinations.count) + MemoryPlan.runtimeOverhead
        guard needed <= global.memoryBytes else {
            throw FilterError.memoryBudget(what: "synth --tilt-series of \(settings.phantom.size) voxels at \(settings.scheme.angles.count) tilts (three images per tilt and slabs of 8 sections)", needed: needed, budget: global.memoryBytes)
        }
        let phantom = try TiltSeriesPhantom(settings: settings)
        let counts = phantom.counts
        console.note("\(settings.scheme.angles.count) tilts \(settings.scheme.first)…\(settings.scheme.last)° (\(settings.scheme.order.rawValue)), \(settings.scheme.dosePerTilt) e/Å² each: \(Int(counts.max()!.rounded())) electrons per voxel at 0°, \(Int(counts.min()!.rounded())) at the highest tilt; \(settings.reconstruction.rawValue)")
        let scheme = settings.scheme
        let labelled = destinations.map { ($0.0, $0.1, Optional("\($0.0.rawValue) \(scheme.first):\(scheme.last):\(scheme.step)")) }
        try writeVolumes(labelled, info: phantom.info, seed: settings.phantom.seed, console: console) { write in
            let size = settings.phantom.size
            let progress = ProgressReporter(label: "synth --tilt-series \(size)", total: 3 * size.z, enabled: !global.quiet)
            try phantom.generate(volumes: Set(destinations.map(\.0)), progress: progress.update) { volume, sections, values in
                try write(volume, sections.count * size.y, values)
            }
            progress.finish()
        }
    }
}
