import FilterKit

/// What `stdio-filter synth` makes: the volume, its content, the microscope and the noise.
///
/// Lengths are in Å unless a name says otherwise, so a phantom at a different voxel size shows
/// the same cell at a different sampling.
public struct PhantomSettings: Sendable, Equatable {
    /// The noise added to the imaged volume.
    public enum Noise: String, Sendable, CaseIterable {
        /// Independent Gaussian values.
        case white
        /// White noise shaped like a weighted back-projection's: amplitude √|k| in the XZ plane
        /// (the ramp filter) inside the missing wedge, so neighbours along X are anti-correlated.
        case tomographic
        /// No noise: the output equals the ground truth.
        case none
    }

    public var size = Size3(x: 128, y: 128, z: 64)
    public var voxelSize: Double = 10
    public var seed: UInt64 = 1
    /// var(clean) / var(noise); the clean volume is standardised to mean 0, std 1.
    public var snr: Double = 0.1
    public var noise: Noise = .tomographic
    /// Fraction of Z that is ice; the rest is vacuum, split evenly above and below.
    public var iceFraction: Double = 0.72
    /// Acceleration voltage (kV), spherical aberration (mm), defocus (µm, positive underfocus).
    public var voltage: Double = 300
    public var sphericalAberration: Double = 2.7
    public var defocus: Double = 3
    public var amplitudeContrast: Double = 0.07
    /// B-factor of the envelope, Å².
    public var bFactor: Double = 1000
    /// Whether the contrast transfer function is applied (otherwise the clean volume is the density).
    public var ctf = true
    /// Largest tilt (degrees) about Y; 90 means no missing wedge.
    public var tiltRange: Double = 60

    public init() {}

    /// Electron wavelength in Å (relativistic).
    public var wavelength: Double { ElectronOptics.wavelength(kilovolts: voltage) }

    /// Checks the values before anything is made.
    public func validate() throws {
        try requireSetting(size.x >= 1 && size.y >= 1 && size.z >= 1 && size.x <= 1 << 16 && size.y <= 1 << 16 && size.z <= 1 << 16,
                  "synth --size", size, "1 to 65536 voxels along each axis")
        try requireSetting(voxelSize.isFinite && voxelSize >= 0.5 && voxelSize <= 1000, "synth --angpix", voxelSize, "0.5 to 1000 Å")
        try requireSetting(snr.isFinite && snr > 0, "synth --snr", snr, "a positive number")
        try requireSetting(iceFraction.isFinite && iceFraction > 0 && iceFraction <= 1, "synth --ice", iceFraction, "a fraction in (0, 1]")
        try requireSetting(voltage.isFinite && voltage >= 20 && voltage <= 3000, "synth --voltage", voltage, "20 to 3000 kV")
        try requireSetting(sphericalAberration.isFinite && sphericalAberration >= 0 && sphericalAberration <= 20, "synth --cs", sphericalAberration, "0 to 20 mm")
        try requireSetting(defocus.isFinite && abs(defocus) <= 100, "synth --defocus", defocus, "-100 to 100 µm")
        try requireSetting(amplitudeContrast.isFinite && amplitudeContrast >= 0 && amplitudeContrast <= 1, "synth --amplitude-contrast", amplitudeContrast, "0 to 1")
        try requireSetting(bFactor.isFinite && bFactor >= 0 && bFactor <= 1e5, "synth --bfactor", bFactor, "0 to 100000 Å²")
        try requireSetting(tiltRange.isFinite && tiltRange > 0 && tiltRange <= 90, "synth --tilt-range", tiltRange, "1 to 90 degrees")
    }
}

/// Throws `invalidParameter` naming the option when a setting is out of its range.
func requireSetting(_ ok: Bool, _ name: String, _ value: Any, _ expected: String) throws {
    if !ok { throw FilterError.invalidParameter(name: name, value: "\(value)", expected: expected) }
}
