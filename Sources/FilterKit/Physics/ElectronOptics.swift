#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Facts of transmission electron microscopy shared by the stages that model the microscope.
public enum ElectronOptics {
    /// The relativistic electron wavelength in Å at an acceleration voltage of `kilovolts`
    /// (0.0197 Å at 300 kV).
    @inlinable
    public static func wavelength(kilovolts: Double) -> Double {
        let volts = kilovolts * 1000
        return 12.2643247 / (volts * (1 + 0.978466e-6 * volts)).squareRoot()
    }

    /// The contrast transfer function at squared spatial frequency `k2` (Å⁻²), in the sign
    /// convention of tom_ctf1d and IsoNet: A·cos χ − √(1 − A²)·sin χ with
    /// χ = π/2·Cs·λ³·k⁴ − π·λ·Δz·k² − φ: A at zero frequency, rising towards 1 for an underfocus
    /// Δz > 0. The deconvolution divides by it; a phantom's image of dark protein is its negative.
    ///
    /// - Parameters: `wavelength` λ (Å, ``wavelength(kilovolts:)``), `defocus` Δz (Å, positive
    ///   for underfocus), `sphericalAberration` Cs (Å), `amplitudeContrast` A (0…1),
    ///   `phaseShift` φ (radians, a phase plate's).
    @inlinable
    public static func ctf(k2: Double, wavelength lambda: Double, defocus dz: Double, sphericalAberration cs: Double, amplitudeContrast a: Double, phaseShift: Double = 0) -> Double {
        let chi = 0.5 * Double.pi * cs * lambda * lambda * lambda * k2 * k2 - Double.pi * lambda * dz * k2 - phaseShift
        return a * cos(chi) - (1 - a * a).squareRoot() * sin(chi)
    }
}
