import FilterKit
import Foundation

/// Denoises a weighted back-projection from the volume alone: splits it into the reconstructions
/// of its alternate tilts (``TiltSplit``), measures the signal spectrum between them and filters
/// the tomogram with those Wiener gains (``HalfSpectrumWiener``). What `s2s --tilts` runs.
///
/// A whole-volume stage: it holds the volume, and at the peak (the halves' transforms) about four
/// volumes' worth of floats.
public final class TiltSplitDenoiser: WholeVolumeStage {
    public let name: String
    public let split: TiltSplit
    /// Spectrum bins per axis at most (``HalfSpectrumWiener/defaultBins``; fewer on a short axis).
    public let bins: Int
    /// The geometry when already found (by a probe before the run), else found on the volume.
    public let knownGeometry: TiltSplit.Geometry?

    private var size = Size3(x: 0, y: 0, z: 0)
    private var volume: [Float] = []

    public init(name: String = "s2s", split: TiltSplit, bins: Int = HalfSpectrumWiener.defaultBins, geometry: TiltSplit.Geometry? = nil) {
        self.name = name
        self.split = split
        self.bins = bins
        self.knownGeometry = geometry
    }

    public func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        let size = input.size
        guard TiltSplit.canSplit(size) else {
            throw FilterError.invalidParameter(name: "tilts", value: "\(size)", expected: "a volume of at least \(TiltSplit.minimumEdge) voxels along each axis to split")
        }
        var info = input
        info.elementType = .float32
        return info
    }

    public func minimumBytes(for input: VolumeInfo) -> Int {
        // The volume and both halves, then one half and two spectra (nz·ny·(nx/2+1) complex
        // values each: a little more than a volume).
        let volume = input.size.voxelCount * 4, spectrum = input.size.z * input.size.y * (input.size.x / 2 + 1) * 8
        return max(3 * volume + spectrum, 2 * volume + 2 * spectrum)
    }

    public func reserve(for input: VolumeInfo, available: Int) -> WholeVolumeReservation? {
        let bytes = minimumBytes(for: input)
        return bytes <= available ? WholeVolumeReservation(mode: "in memory (split and spectra)", bytes: bytes) : nil
    }

    public func begin(input: VolumeInfo, reservation: WholeVolumeReservation) throws {
        size = input.size
        volume = [Float](repeating: 0, count: size.voxelCount)
    }

    public func absorb(_ sections: UnsafePointer<Float>, from z: Int, count: Int) throws {
        let plane = size.x * size.y
        volume.withUnsafeMutableBufferPointer { v in
            (v.baseAddress! + z * plane).update(from: sections, count: count * plane)
        }
    }

    public func finishInput() throws {
        let start = ProgressReporter.now()
        let geometry = try knownGeometry ?? volume.withUnsafeBufferPointer {
            try split.geometry(of: $0.baseAddress!, size: size, source: name, log: Log.info)
        }
        var (first, second, residual) = volume.withUnsafeBufferPointer { TiltSplit.halves(of: $0.baseAddress!, size: size, geometry: geometry) }
        Log.info(String(format: "split into the reconstructions of alternate tilts in %.1f s, residual %.2f %%", ProgressReporter.now() - start, residual * 100))
        let wiener = try HalfSpectrumWiener(first: &first, second: &second, size: size, bins: Self.bins(bins, for: size))
        let summary = try wiener.filter(&volume)
        Log.info(String(format: "filtered by the spectrum the two halves share (signal %.1f %% of the power, %.1f %% kept) in %.1f s in all", summary.signalShare * 100, summary.keptPower * 100, ProgressReporter.now() - start))
    }

    /// At most `bins`, and at least 4 frequencies of the shortest axis per bin (a 32-voxel axis
    /// with 16 bins would have one sample per bin along it, and its gains would be noise).
    static func bins(_ bins: Int, for size: Size3) -> Int {
        min(bins, max(2, min(size.x, size.y, size.z) / 4))
    }

    public func emit(_ sections: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        let plane = size.x * size.y
        volume.withUnsafeBufferPointer { v in
            destination.update(from: v.baseAddress! + sections.lowerBound * plane, count: sections.count * plane)
        }
    }

    public func end() {
        volume = []
    }
}
