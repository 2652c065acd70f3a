import ArgumentParser
import FilterKit
import Evaluation

/// `stdio-filter synth`: a synthetic cellular tomogram, streamed, with its ground truth.
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a synthetic cellular tomogram (noisy, and the clean ground truth), streamed.",
        discussion: """
            An ice slab with vacuum above and below holding an organelle membrane, vesicles,
            actin filaments, microtubules, ribosome- and proteasome-like particles and crowding
            proteins; imaged with a CTF (voltage, Cs, defocus, B-factor) and a missing wedge about
            Y; standardised to mean 0 and standard deviation 1; then noise of variance 1/SNR is
            added, white or tomographic (the spectrum of a weighted back-projection: neighbours
            along X anti-correlated, as in real reconstructions).

            Deterministic: the same settings and seed give the same bytes on any thread count.
            Memory is one slab of 32 sections whatever the volume's depth, so it makes
            volumes of any size for benchmarks (check: --memory must hold 32 sections plus 16).
            The measuring pass makes the volume once before writing it.

            --halves writes a second noisy volume: the same clean volume with independent noise of
            the same kind and SNR, as two half-tomograms from even and odd tilts are (for n2n).

            --tilt-series makes a back-projected phantom instead, whose noise is a real tomogram's: the cell (its density in the ice, the specimen) is projected at every tilt, imaged through the CTF with the exposure filter of the dose each tilt has seen, given shot noise at that dose (two independent halves of the frames), resampled as alignment does, filtered (--reconstruction wbp or sirt-like) and back-projected with linear interpolation, as IMOD and ../shared/tools/reconstruct.py do. The output is the full reconstruction; --clean the noise-free one; --specimen the truth itself; --tilt-halves the reconstructions of the even and odd tilts; --frame-halves those of two halves of the frames. --snr and --noise do not apply: the dose and --phase set the noise. Memory holds three images per tilt, not the volume. The defaults match the real series of ../shared/data/real (docs/benchmarks.md, issue 35).

            Examples:
              stdio-filter synth tomo.mrc --clean truth.mrc
              stdio-filter synth even.mrc --halves odd.mrc --clean truth.mrc
              stdio-filter synth --size 512x512x200 --noise white --snr 0.5 --seed 7 noisy.mrc
              stdio-filter synth --size 1024x1024x1024 | stdio-filter s2s --model m.safetensors > out.mrc
              stdio-filter synth --size 256x192x128 --tilt-series -60:60:3 full.mrc --clean wbp-clean.mrc --specimen specimen.mrc --tilt-halves even.mrc,odd.mrc
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var io: IOOptions
    @OptionGroup(title: "Back-projected phantoms") var tilts: TiltSeriesOptions

    @Argument(help: ArgumentHelp("Output path for the noisy volume, or '-' for stdout.", valueName: "output"))
    var output: String = "-"

    @Option(help: ArgumentHelp("Threads (default: the CPUs this process may use, as taskset or SLURM set them); the output does not depend on it.", valueName: "n"))
    var threads: Int?

    @Option(help: ArgumentHelp("Also write the noise-free ground truth here (with --tilt-series: the noise-free reconstruction of all tilts).", valueName: "path"))
    var clean: String?

    @Option(help: ArgumentHelp("Also write a second half here: the same clean volume with independent noise of the same kind and SNR.", valueName: "path"))
    var halves: String?

    @Option(help: ArgumentHelp("Volume size in voxels, XxYxZ.", valueName: "XxYxZ"))
    var size: String = "128x128x64"

    @Option(help: ArgumentHelp("Voxel size in Å.", valueName: "Å"))
    var angpix: Double = 10

    @Option(help: ArgumentHelp("Random seed: the same seed gives the same volume.", valueName: "n"))
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("Signal-to-noise ratio var(clean)/var(noise).", valueName: "ratio"))
    var snr: Double = 0.1

    @Option(help: ArgumentHelp("Noise: tomographic, white or none.", valueName: "kind"))
    var noise: PhantomSettings.Noise = .tomographic

    @Option(help: ArgumentHelp("Fraction of Z that is ice (the rest is vacuum).", valueName: "fraction"))
    var ice: Double = 0.72

    @Option(help: ArgumentHelp("Acceleration voltage in kV.", valueName: "kV"))
    var voltage: Double = 300

    @Option(help: ArgumentHelp("Spherical aberration in mm.", valueName: "mm"))
    var cs: Double = 2.7

    @Option(help: ArgumentHelp("Defocus in µm (positive = underfocus).", valueName: "µm"))
    var defocus: Double = 3

    @Option(name: .customLong("amplitude-contrast"), help: ArgumentHelp("Amplitude contrast fraction.", valueName: "fraction"))
    var amplitudeContrast: Double = 0.07

    @Option(help: ArgumentHelp("B-factor of the CTF envelope in Å².", valueName: "Å²"))
    var bfactor: Double = 1000

    @Flag(name: .customLong("no-ctf"), help: "No CTF: the clean volume is the (inverted) density itself.")
    var noCTF = false

    @Option(name: .customLong("tilt-range"), help: ArgumentHelp("Largest tilt angle about Y in degrees (90: no missing wedge).", valueName: "degrees"))
    var tiltRange: Double = 60

    var settings: PhantomSettings {
        get throws {
            var s = PhantomSettings()
            guard let parsed = Synth.parseSize(size) else {
                throw ValidationError("--size must be XxYxZ with positive whole numbers, such as 256x256x100 (got \(size))")
            }
            s.size = parsed
            s.voxelSize = angpix
            s.seed = seed
            s.snr = snr
            s.noise = noise
            s.iceFraction = ice
            s.voltage = voltage
            s.sphericalAberration = cs
            s.defocus = defocus
            s.amplitudeContrast = amplitudeContrast
            s.bFactor = bfactor
            s.ctf = !noCTF
            s.tiltRange = tiltRange
            do { try s.validate() } catch let error as FilterError { throw ValidationError("\(error)") }
            return s
        }
    }

    func validate() throws {
        let phantom = try settings
        if try tilts.settings(phantom: phantom) != nil {
            if halves != nil { throw ValidationError("--halves is for the voxel-noise phantom; with --tilt-series use --tilt-halves or --frame-halves") }
            _ = try tilts.destinations(clean: clean)
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    static func parseSize(_ text: String) -> Size3? {
        let parts = text.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 3, let x = parts[0], let y = parts[1], let z = parts[2], x > 0, y > 0, z > 0 else { return nil }
        return Size3(x: x, y: y, z: z)
    }

    func run() throws {
        let console = Console(command: "synth", quiet: global.quiet)
        let settings = try self.settings
        try console.run {
            try refuseTerminalOutput(output)
            if let threads { Parallel.threads = threads }
            if let tiltSeries = try tilts.settings(phantom: settings) { return try runTiltSeries(tiltSeries, console: console) }
            let paths = [output] + [clean, halves].compactMap { $0 }
            if Set(paths).count < paths.count {
                throw FilterError.unsupported(
                    source: "synth \(paths.joined(separator: " "))", what: "two of the volumes (noisy, --clean, --halves) would go to the same place", hint: "give different paths")
            }
            let needed = PhantomGenerator.bytes(for: settings.size, secondHalf: halves != nil) + MemoryPlan.runtimeOverhead
            guard needed <= global.memoryBytes else {
                throw FilterError.memoryBudget(what: "synth of \(settings.size) voxels (a slab of 32 sections and an output slab of 16)", needed: needed, budget: global.memoryBytes)
            }
            let generator = try PhantomGenerator(settings: settings)
            /// The first label says what the volume is (nil: the settings).
            let destinations: [(PhantomGenerator.Volume, String, String?)] = [(.noisy, output, nil)]
                + (clean.map { [(.clean, $0, "ground truth (no noise)")] } ?? [])
                + (halves.map { [(.secondHalf, $0, "second half (independent noise)")] } ?? [])
            try writeVolumes(destinations, info: generator.info, seed: settings.seed, console: console) { write in
                let progress = ProgressReporter(label: "synth \(settings.size)", total: 2 * settings.size.z, enabled: !global.quiet)
                try generator.generate(clean: clean != nil, secondHalf: halves != nil, progress: progress.update) { volume, sections, values in
                    try write(volume, sections.count * settings.size.y, values)
                }
                progress.finish()
            }
        }
    }

    /// Opens a writer for each destination (`info` with the first label replaced by the
    /// destination's own, when it has one), lets `generate` write rows to them by volume,
    /// finishes them in order, and aborts them all (no output left) on any error.
    func writeVolumes<Volume: Hashable>(
        _ destinations: [(Volume, String, String?)], info: VolumeInfo, seed: UInt64, console: Console,
        generate: (_ write: (Volume, Int, UnsafeMutablePointer<Float>) throws -> Void) throws -> Void
    ) throws {
        var writers: [Volume: any VolumeWriter] = [:]
        do {
            for (volume, path, label) in destinations {
                var volumeInfo = info
                if let label { volumeInfo.labels[0] = String("stdio-filter synth seed=\(seed) \(label)".prefix(80)) }
                writers[volume] = try io.createOutput(path, info: volumeInfo, operation: "synth", protecting: [], console: console)
            }
            try generate { volume, rows, values in try writers[volume]!.writeRows(rows, from: values) }
            for (volume, _, _) in destinations { try writers[volume]!.finish() }
        } catch {
            writers.values.forEach { $0.abort() }
            throw error
        }
    }
}

extension PhantomSettings.Noise: ExpressibleByArgument {}
