#if canImport(Glibc)
import Glibc
#endif
import FilterKit

/// How the microscope and the reconstruction shape a phantom, in Fourier space: the contrast
/// transfer function with its B-factor envelope, the missing wedge of a single-axis tilt series
/// about Y, and the spectrum of tomographic noise.
struct ImagingModel {
    let settings: PhantomSettings
    /// CTF × envelope against k² (Å⁻²), sampled every ``step``.
    private let transfer: [Float]
    private let step: Double

    init(settings s: PhantomSettings) {
        settings = s
        let kMax2 = 3 / (4 * s.voxelSize * s.voxelSize)
        let count = 16_384
        step = kMax2 / Double(count - 2)
        let lambda = s.wavelength, df = s.defocus * 1e4, cs = s.sphericalAberration * 1e7
        transfer = (0..<count).map { i in
            let k2 = Double(i) * kMax2 / Double(count - 2)
            guard s.ctf else { return -1 }
            let ctf = ElectronOptics.ctf(k2: k2, wavelength: lambda, defocus: df, sphericalAberration: cs, amplitudeContrast: s.amplitudeContrast)
            // Dark protein contrast: positive density gives negative values at low frequency.
            return Float(-ctf * exp(-s.bFactor * k2 / 4))
        }
    }

    /// CTF × envelope at squared spatial frequency `k2` (Å⁻²), linearly interpolated.
    @inline(__always)
    func transfer(_ k2: Double) -> Float {
        let t = k2 / step
        let i = min(Int(t), transfer.count - 2)
        let f = Float(t - Double(i))
        return transfer[i] + f * (transfer[i + 1] - transfer[i])
    }

    /// Whether the tilt series measured spatial frequency (kx, kz): within `tiltRange` of the
    /// kx axis in the XZ plane (the tilt axis itself, kx = kz = 0, always).
    func measured(kx: Double, kz: Double) -> Bool {
        if settings.tiltRange >= 90 || (kx == 0 && kz == 0) { return true }
        return abs(kz) <= tan(settings.tiltRange * Double.pi / 180) * abs(kx)
    }

    /// Amplitude of tomographic noise at (kx, kz) (Å⁻¹), before normalisation: the square root
    /// of the ramp filter |k| in the XZ plane, inside the measured wedge.
    func noiseAmplitude(kx: Double, kz: Double) -> Float {
        guard measured(kx: kx, kz: kz) else { return 0 }
        let nyquist = 0.5 / settings.voxelSize
        return Float(((kx * kx + kz * kz).squareRoot() / nyquist).squareRoot())
    }
}
