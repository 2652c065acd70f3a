/// Facts of transmission electron microscopy shared by the stages that model the microscope.
public enum ElectronOptics {
    /// The relativistic electron wavelength in Å at an acceleration voltage of `kilovolts`
    /// (0.0197 Å at 300 kV).
    @inlinable
    public static func wavelength(kilovolts: Double) -> Double {
        let volts = kilovolts * 1000
        return 12.2643247 / (volts * (1 + 0.978466e-6 * volts)).squareRoot()
    }
}
