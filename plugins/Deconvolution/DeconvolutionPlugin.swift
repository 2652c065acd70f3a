import FFTSupport
import FilterKit

/// Deconvolution stages: `deconv`.
public enum DeconvolutionPlugin {
    public static let factories: [any StageFactory.Type] = [DeconvolutionFactory.self]
}

/// `deconv`: IsoNet's CTF deconvolution (tom_deconv's Wiener-like filter), exact, streamed.
public enum DeconvolutionFactory: StageFactory {
    public static let name = "deconv"
    public static let summary = "CTF deconvolution as IsoNet's deconv (tom_deconv Wiener-like filter, whole-volume FFT)"
    public static let discussion = """
        Multiplies the volume's 3-D spectrum by W(r) = ctf/(ctf² + 1/snr), with
        snr = exp(−r·snrfalloff·100/angpix)·10^deconvstrength·highpass + 1e-6, then rescales the
        result to the input's mean and std (normalize=on), exactly as IsoNet's `deconv`. Boundaries
        are periodic, as in IsoNet. The whole volume is transformed at once: in memory when it fits
        --memory, otherwise with an exact out-of-core scheme using a scratch file about the size of
        the input in $TMPDIR (execution=outofcore forces it). Both work from a pipe and give the same
        result. angpix defaults to the input header's voxel size.
        strength-scale=tegunov reads deconvstrength as tom_deconv.m, Warp and IMOD do (10^(3s)).
        The filter and the rescale are global (the rescale needs the filtered volume's statistics),
        so there is no --stats: with --zrange every part computes the whole transform. On a
        cluster, run deconv as one job, then split the stages after it.
        Example: stdio-filter deconv --angpix 10 --defocus 3 < tomo.mrc > deconv.mrc
        """
    public static let parameters = [
        StageParameter("angpix", .number(0.1...1000), default: "header", unit: "Å", help: "pixel size (default: the input header's voxel size)"),
        StageParameter("defocus", .number(-20...100), default: nil, unit: "µm", help: "defocus, underfocus positive (IsoNet's rlnDefocus in Å ÷ 10000)"),
        StageParameter("snrfalloff", .number(0...100), default: "1", help: "how fast the SNR falls with frequency"),
        StageParameter("deconvstrength", .number(-5...5), default: "1", help: "log10 of the SNR scale (see strength-scale)"),
        StageParameter("highpassnyquist", .number(0...1), default: "0.02", unit: "× Nyquist", help: "high-pass edge"),
        StageParameter("voltage", .number(10...3000), default: "300", unit: "kV", help: "accelerating voltage"),
        StageParameter("cs", .number(0...20), default: "2.7", unit: "mm", help: "spherical aberration"),
        StageParameter("ampcon", .number(0...1), default: "0.07", help: "amplitude contrast (IsoNet fixes 0.07)"),
        StageParameter("phaseflipped", .choice(["off", "on"]), default: "off", help: "the data were phase-flipped: use |CTF|"),
        StageParameter("phaseshift", .number(-360...360), default: "0", unit: "°", help: "phase-plate phase shift"),
        StageParameter("strength-scale", .choice(["isonet", "tegunov"]), default: "isonet", help: "SNR scale 10^s (IsoNet) or 10^(3s) (tom_deconv.m, Warp, IMOD)"),
        StageParameter("normalize", .choice(["on", "off"]), default: "on", help: "rescale to the input's mean and std (IsoNet)"),
        StageParameter("execution", .choice(DeconvolutionStage.Mode.allCases.map(\.rawValue)), default: "auto", help: "auto: in memory when it fits --memory, else out of core"),
        StageParameter("planner", .choice(FFTW.Rigor.allCases.map(\.rawValue)), default: "auto", help: "FFTW planning: auto = cached wisdom, else ESTIMATE in memory (its small transforms run as fast estimated) and MEASURE the out-of-core transforms of up to 1M values"),
    ]

    public static func make(_ p: StageParameters) throws -> any Stage {
        let defocus = try p.number("defocus")
        var settings = DeconvolutionSettings(angpix: p.text("angpix") == "header" ? 0 : try p.number("angpix"), defocus: defocus)
        settings.snrfalloff = try p.number("snrfalloff")
        settings.deconvstrength = try p.number("deconvstrength")
        settings.highpassnyquist = try p.number("highpassnyquist")
        settings.voltage = try p.number("voltage")
        settings.cs = try p.number("cs")
        settings.ampcon = try p.number("ampcon")
        settings.phaseflipped = try p.choice("phaseflipped") == "on"
        settings.phaseshift = try p.number("phaseshift")
        settings.strengthScale = DeconvolutionSettings.StrengthScale(rawValue: try p.choice("strength-scale"))!
        return DeconvolutionStage(
            settings: settings, mode: DeconvolutionStage.Mode(rawValue: try p.choice("execution"))!,
            normalize: try p.choice("normalize") == "on", planner: try p.choice("planner"))
    }
}
