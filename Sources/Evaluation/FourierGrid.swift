/// Index ↔ spatial frequency on an FFT grid, as numpy's `fftfreq` lays it out.
enum FourierGrid {
    /// The signed spatial frequency (Å⁻¹) of FFT index `i` of `n` samples spaced `voxelSize` Å.
    static func frequency(_ i: Int, _ n: Int, _ voxelSize: Double) -> Double {
        Double(i <= n / 2 ? i : i - n) / (Double(n) * voxelSize)
    }
}
