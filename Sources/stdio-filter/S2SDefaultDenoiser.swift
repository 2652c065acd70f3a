import FilterKit
import Foundation
import S2SFilter
import StageCatalog
import Tomography

/// What `s2s` runs by default: `n2n` on the even and odd halves that the reconstruction program
/// wrote beside the input (`--halves auto`, ``ReconstructionHalves``); else Self2Self with masks.
/// With `--tilts detect` (or split parameters alone) it probes for the split of a weighted
/// back-projection and the Wiener filter of the spectrum its halves share, taken when the input
/// is one (a tilt series shows in its power spectrum and the back-projection of those tilts fits
/// it); masks otherwise.
///
/// Halves are used unless the user chose otherwise: `--halves none`, `--tilts` other than
/// detect, `--model`, or a parameter of the masks (the network's parameters apply to n2n).
///
/// The input is probed only when asked (`--tilts detect`: network parameters then apply only to
/// masks; or split parameters alone), on a
/// whole-volume run (no `--zrange`); the geometry is found on sample planes (``PlaneSamples``),
/// read in one pass, and the split runs in memory or out of core, as the budget allows.
/// A pipe is first copied to an unlinked scratch file (as the masks' prepass would spool it), so
/// either denoiser reads it from the start.
struct S2SDefaultDenoiser {
    /// The input the run reads (`-` for stdin, which is then the scratch copy of the pipe).
    var input: String
    /// The split denoiser, with the geometry the probe found; nil for masks.
    var tiltSplit: TiltSplitDenoiser?
    /// The halves found beside the input, for n2n.
    var halves: ReconstructionHalves?
    /// The copy of stdin (standard input is a duplicate of its descriptor).
    private var spool: ScratchFile?

    /// Probes `input` for `s2s` run with `given` parameters; nil when the user chose the denoiser.
    static func choose(given: [(String, String)], input: String, output: String, global: GlobalOptions, chain: ChainOptions, io: IOOptions) throws -> S2SDefaultDenoiser? {
        let tilts = given.last(where: { $0.0 == "tilts" })?.1
        let network = given.map(\.0).filter { !S2SFactory.tiltParameters.contains($0) }
        if let halves = findHalves(given: given, input: input, tilts: tilts, quiet: global.quiet) {
            var choice = S2SDefaultDenoiser(input: halves.even)
            choice.halves = halves
            return choice
        }
        // The split is probed for with --tilts detect, or when only its parameters are given
        // (masks otherwise: the default since the truth-based benchmark, issue 35).
        let splitOnly = !given.isEmpty && given.allSatisfy { S2SFactory.tiltParameters.subtracting(["halves"]).contains($0.0) }
        guard tilts == "detect" || (tilts == nil && splitOnly), chain.zrange == nil else { return nil }
        let console = Console(command: S2SFactory.name, quiet: global.quiet)
        var choice = S2SDefaultDenoiser(input: input)
        // A forgotten redirection is refused before a minute of probing, not after.
        try refuseTerminalOutput(output)
        try console.run {
            if input == "-" {
                // The copy becomes standard input (a regular file at its start), so that both
                // the probe and the run read it as `-`, and messages still say stdin.
                let spool = try ScratchFile.spooling(try InputSource.open("-"), purpose: "spool of stdin")
                choice.spool = spool
                try rewind(spool, asStandardInput: true)
            }
            choice.tiltSplit = try probe(choice.input, given: given.filter { S2SFactory.tiltParameters.contains($0.0) }, global: global, io: io, console: console)
            if let spool = choice.spool { try rewind(spool, asStandardInput: false) }
            if choice.tiltSplit != nil, let first = network.first {
                console.note("--\(first)\(network.count > 1 ? " and \(network.count - 1) more network parameters" : "") set masks, which this input does not need: ignored")
            }
        }
        return choice
    }

    /// The halves beside `input` when the user left the choice to s2s, and what they are (stderr).
    private static func findHalves(given: [(String, String)], input: String, tilts: String?, quiet: Bool) -> ReconstructionHalves? {
        let names = Set(given.map(\.0))
        guard input != "-", given.last(where: { $0.0 == "halves" })?.1 ?? "auto" == "auto", tilts == nil || tilts == "detect",
              names.isDisjoint(with: S2SFactory.maskParameters), let halves = ReconstructionHalves.find(beside: input) else { return nil }
        Console(command: S2SFactory.name, quiet: quiet).note(
            "two halves beside \(input) (\(halves.convention)): n2n trained on \(halves.even) and \(halves.odd), each towards the other, predicts the tomogram (--halves none for the input alone)")
        return halves
    }

    /// The `n2n` stage for ``halves``, with the parameters given to s2s that n2n has.
    func halvesStage(given: [(String, String)], quiet: Bool) throws -> any Stage {
        let n2n = Set(N2NFactory.parameters.map(\.name))
        return try makeStages(command: S2SFactory.name, quiet: quiet) {
            try stageRegistry.makeChain([ChainSpec.Element(name: N2NFactory.name, parameters: given.filter { n2n.contains($0.0) })])
        }[0]
    }

    /// Puts standard input at the start of `spool` (first making it a duplicate of it).
    private static func rewind(_ spool: ScratchFile, asStandardInput: Bool) throws {
        if asStandardInput, dup2(spool.fd, 0) < 0 {
            throw FilterError.system(source: "stdin", operation: "replace standard input by its \(spool.purpose)", errno: errno)
        }
        guard lseek(0, 0, SEEK_SET) == 0 else {
            throw FilterError.system(source: "stdin", operation: "rewind its \(spool.purpose)", errno: errno)
        }
    }

    /// The split denoiser when `input` is a back-projection that fits, else nil (and why, on stderr).
    private static func probe(_ input: String, given: [(String, String)], global: GlobalOptions, io: IOOptions, console: Console) throws -> TiltSplitDenoiser? {
        // The split's parameters as given (a bad value is refused here, before any reading).
        let made = try makeStages(command: S2SFactory.name, quiet: global.quiet) {
            try stageRegistry.makeChain([ChainSpec.Element(name: S2SFactory.name, parameters: given.filter { $0.0 != "tilts" } + [("tilts", "auto")])])
        }
        guard let stage = made.first as? TiltSplitDenoiser else { return nil }
        let (source, reader) = try io.openInput(input, memoryBudget: global.memoryBytes, console: console)
        let info = reader.info
        guard TiltSplit.canSplit(info.size) else { return nil }
        // The run's memory plan (made before any voxel is read), and the probe's sample planes.
        do {
            _ = try Pipeline(reader: reader, stages: [stage], options: global.pipelineOptions(for: [stage]))
            let samples = PlaneSamples.bytes(for: info.size) + MemoryPlan.runtimeOverhead
            if samples > global.memoryBytes {
                throw FilterError.memoryBudget(what: "the sample planes of its tilt geometry search", needed: samples, budget: global.memoryBytes)
            }
        } catch FilterError.memoryBudget(_, let needed, _) {
            console.note("masks: splitting a tomogram of \(info.size) into its alternate tilts needs \(ByteCount(needed)), more than --memory \(ByteCount(global.memoryBytes)) (give more to split it)")
            return nil
        }
        // The geometry is searched on sample planes, gathered as the sections stream by.
        var samples = PlaneSamples(size: info.size)
        let chunk = max(1, min(info.size.z, (16 << 20) / (info.size.sectionVoxels * 4)))
        var sections = [Float](repeating: 0, count: chunk * info.size.sectionVoxels)
        for z in stride(from: 0, to: info.size.z, by: chunk) {
            let count = min(chunk, info.size.z - z)
            try sections.withUnsafeMutableBufferPointer { s in
                try reader.readSections(z..<z + count, into: s.baseAddress!)
                samples.absorb(s.baseAddress!, from: z, count: count)
            }
        }
        sections = []
        do {
            let geometry = try stage.split.geometry(of: samples, source: source.name, log: console.note)
            console.note("a weighted back-projection: denoised from the two halves of its alternate tilts (--tilts none for masks)")
            return TiltSplitDenoiser(split: stage.split, bins: stage.bins, window: stage.window, geometry: geometry, refiner: stage.refiner)
        } catch FilterError.unsupported(_, let what, _) {
            console.note("masks: not a weighted back-projection that can be split (\(what))")
            return nil
        }
    }
}
