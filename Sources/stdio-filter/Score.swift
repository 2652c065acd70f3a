import ArgumentParser
import Evaluation
import FilterKit

/// `stdio-filter score`: how close a denoised volume is to the ground truth.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a denoised volume against the clean ground truth (PSNR, SSIM, FSC).",
        discussion: """
            The definitions of the project's tools/metrics.py, so numbers compare with its
            baselines: PSNR (raw and after the least-squares affine fit a·denoised + b ≈ clean,
            which ignores scale and offset), 3-D SSIM (7³ window), Pearson correlation, and the
            resolution where the Fourier shell correlation under a soft box mask falls below 0.5
            and 0.143. With --noisy, the same for the input, the gain, and resid_clean_corr: the
            correlation of what the denoiser removed (noisy − denoised) with the clean volume
            (signal removed with the noise; 0 is ideal).

            The volumes are held in memory (4 bytes per voxel each, plus two FFTs): raise
            --memory for large ones, or score a crop.

            Examples:
              stdio-filter synth noisy.mrc --clean clean.mrc
              stdio-filter s2s noisy.mrc denoised.mrc
              stdio-filter score clean.mrc denoised.mrc --noisy noisy.mrc
              stdio-filter score --json clean.mrc denoised.mrc | jq .psnr_affine
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The clean ground truth (MRC or TIFF).", valueName: "clean"))
    var clean: String

    @Argument(help: ArgumentHelp("The volume to score.", valueName: "denoised"))
    var denoised: String

    @Option(help: ArgumentHelp("The noisy input, to report the gain over it.", valueName: "path"))
    var noisy: String?

    @Option(help: ArgumentHelp("Voxel size in Å for the FSC (default: the clean volume's).", valueName: "Å"))
    var angpix: Double?

    @Flag(help: "One JSON line (the keys of tools/metrics.py) instead of a table.")
    var json = false

    @Flag(name: .customLong("no-ssim"), help: "Skip SSIM (the slowest part).")
    var noSSIM = false

    func validate() throws {
        if let angpix, !(angpix.isFinite && angpix > 0) { throw ValidationError("--angpix must be a positive number of Å (got \(angpix))") }
    }

    func run() throws {
        let console = Console(command: "score", quiet: global.quiet)
        try console.run {
            let start = ProgressReporter.now()
            let paths = [clean, denoised] + (noisy.map { [$0] } ?? [])
            let readers = try paths.map { try openVolume($0, memoryBudget: global.memoryBytes, console: console).1 }
            let size = readers[0].info.size
            for (path, reader) in zip(paths, readers).dropFirst() where reader.info.size != size {
                throw FilterError.unsupported(source: path, what: "its size \(reader.info.size) differs from \(clean)'s \(size)", hint: "score volumes of the same shape")
            }
            let needed = (readers.count + 4) * size.voxelCount * 4 + MemoryPlan.runtimeOverhead
            guard needed <= global.memoryBytes else {
                throw FilterError.memoryBudget(what: "scoring \(readers.count) volumes of \(size) voxels in memory", needed: needed, budget: global.memoryBytes)
            }
            let volumes = try readers.map { reader -> [Float] in
                var values = [Float](repeating: 0, count: size.voxelCount)
                try values.withUnsafeMutableBufferPointer { try reader.readSections(0..<size.z, into: $0.baseAddress!) }
                return values
            }
            let voxel = Double(readers[0].info.voxelSize.x)
            let a = angpix ?? (voxel > 0 ? voxel : 1)
            let result = try QualityScore(clean: volumes[0], denoised: volumes[1], size: size, angpix: a, withSSIM: !noSSIM)
            var input: QualityScore?
            var residualCorrelation: Double?
            if volumes.count > 2 {
                input = try QualityScore(clean: volumes[0], denoised: volumes[2], size: size, angpix: a, withSSIM: !noSSIM)
                let removed = zip(volumes[2], volumes[1]).map { Double($0) - Double($1) }
                residualCorrelation = QualityScore.correlation(removed, volumes[0])
            }
            let seconds = ProgressReporter.now() - start
            if json {
                print(Score.json(denoised: denoised, angpix: a, result, input: input, residual: residualCorrelation, seconds: seconds))
            } else {
                print(Score.table(clean: clean, denoised: denoised, angpix: a, result, input: input, residual: residualCorrelation), terminator: "")
            }
        }
    }

    /// The named values of a score, in metrics.py's order and keys.
    static func fields(_ s: QualityScore) -> [(String, Any?)] {
        [("psnr", s.psnr), ("psnr_affine", s.psnrAffine), ("affine_a", s.affineA), ("affine_b", s.affineB), ("pearson", s.pearson),
         ("ssim", s.ssim), ("ssim_affine", s.ssimAffine), ("fsc05_A", s.fsc05), ("fsc05_reached", s.fsc05Reached),
         ("fsc0143_A", s.fsc0143), ("fsc0143_reached", s.fsc0143Reached)]
    }

    static func json(denoised: String, angpix: Double, _ s: QualityScore, input: QualityScore?, residual: Double?, seconds: Double) -> String {
        func value(_ v: Any?) -> String {
            switch v {
            case let d as Double: return d.isFinite ? "\((d * 1e5).rounded() / 1e5)" : "null"
            case let b as Bool: return b ? "true" : "false"
            default: return "null"
            }
        }
        var pairs: [(String, Any?)] = [("angpix", angpix)] + fields(s).filter { $0.1 != nil }
        if let input {
            pairs += fields(input).filter { $0.1 != nil && $0.0 != "affine_a" && $0.0 != "affine_b" }.map { ($0.0 + "_in", $0.1) }
            pairs.append(("psnr_affine_gain", s.psnrAffine - input.psnrAffine))
            pairs.append(("resid_clean_corr", residual))
        }
        pairs.append(("seconds", seconds))
        return "{\"denoised\": \(JSONText.quoted(denoised)), " + pairs.map { "\"\($0.0)\": \(value($0.1))" }.joined(separator: ", ") + "}"
    }

    static func table(clean: String, denoised: String, angpix: Double, _ s: QualityScore, input: QualityScore?, residual: Double?) -> String {
        func f(_ v: Double?, _ digits: Int) -> String {
            guard let v, v.isFinite else { return "-" }
            let p = Double([1, 10, 100, 1000, 10000][digits])
            return "\((v * p).rounded() / p)"
        }
        func resolution(_ value: Double, _ reached: Bool) -> String { (reached ? "" : "≤ ") + f(value, 1) + " Å" }
        let rows: [(String, (QualityScore) -> String)] = [
            ("PSNR (dB)", { f($0.psnr, 2) }), ("PSNR affine-fitted (dB)", { f($0.psnrAffine, 2) }),
            ("SSIM", { f($0.ssim, 4) }), ("SSIM affine-fitted", { f($0.ssimAffine, 4) }), ("Pearson", { f($0.pearson, 4) }),
            ("FSC 0.5", { resolution($0.fsc05, $0.fsc05Reached) }), ("FSC 0.143", { resolution($0.fsc0143, $0.fsc0143Reached) }),
        ]
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        var out = "\(denoised) against \(clean) (\(f(angpix, 2)) Å/voxel)\n"
        out += pad("", 26) + pad("scored", 14) + (input == nil ? "" : "input") + "\n"
        for (name, value) in rows {
            out += pad(name, 26) + pad(value(s), 14) + (input.map(value) ?? "") + "\n"
        }
        if let input {
            out += "gain over the input: \(s.psnrAffine >= input.psnrAffine ? "+" : "")\(f(s.psnrAffine - input.psnrAffine, 2)) dB (affine PSNR)\n"
            out += "signal removed with the noise, corr(noisy − scored, clean): \(f(residual, 4)) (0 is ideal)\n"
        }
        return out
    }
}
