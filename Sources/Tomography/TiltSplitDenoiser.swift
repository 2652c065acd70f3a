import FilterKit
import Foundation

/// Denoises a weighted back-projection from the volume alone: splits it into the reconstructions
/// of its alternate tilts (``TiltSplit``), measures the signal spectrum between them and filters
/// the tomogram with those Wiener gains (``HalfSpectrumWiener``). What `s2s --tilts` runs.
///
/// A whole-volume stage: in memory when about four volumes' worth of floats fit the budget
/// (``InMemoryTiltSplit``), else out of core (``OutOfCoreTiltSplit``: the same result through
/// scratch files, in a band of planes across the tilt axis at a time). A volume deeper than its
/// ``window`` is split and filtered in overlapping windows of sections, each by one of those
/// engines, and blended (``WindowedTiltSplit``, ``DepthWindows``).
public final class TiltSplitDenoiser: WholeVolumeStage {
    public let name: String
    public let split: TiltSplit
    /// Spectrum bins per axis at most (``HalfSpectrumWiener/defaultBins``; fewer on a short axis).
    public let bins: Int
    /// The geometry when already found (by a probe before the run), else found on the volume.
    public let knownGeometry: TiltSplit.Geometry?
    /// How deep the windows of sections split on their own are (``DepthWindows``).
    public let window: Window
    /// What denoises the volume away from the band along the tilt axis, learning from the halves
    /// (``HalfSpectrumWiener/refine(volume:first:second:size:bins:axis:refiner:bandWeight:)``),
    /// or nil for the Wiener filter alone. It runs where the volume, or each window of a deeper
    /// one, is split in memory with it; out of core the filter runs alone.
    public let refiner: (any SplitRefiner)?

    /// How deep a window of sections is.
    public enum Window: Sendable, Equatable {
        /// ``DepthWindows/defaultAngstroms`` at the volume's voxel size.
        case auto
        /// This many sections.
        case sections(Int)
        /// The whole volume in one.
        case whole

        /// The windows over `input`'s sections.
        public func windows(for input: VolumeInfo) -> DepthWindows {
            switch self {
            case .auto: DepthWindows(depth: input.size.z, window: DepthWindows.sections(forVoxel: input.voxelSize.z))
            case .sections(let n): DepthWindows(depth: input.size.z, window: n)
            case .whole: DepthWindows(depth: input.size.z, window: input.size.z)
            }
        }
    }

    private var engine: (any TiltSplitEngine)?

    public init(
        name: String = "s2s", split: TiltSplit, bins: Int = HalfSpectrumWiener.defaultBins, window: Window = .auto, geometry: TiltSplit.Geometry? = nil,
        refiner: (any SplitRefiner)? = nil
    ) {
        self.name = name
        self.refiner = refiner
        self.split = split
        self.bins = bins
        self.window = window
        self.knownGeometry = geometry
    }

    /// With a refiner, room for the volumes, spectra and the refiner's network in memory: 1 GiB
    /// holds crops of about 160×256×256 voxels (a refined volume that does not fit is filtered
    /// out of core, without the network).
    public var suggestedMemoryBudget: Int? { refiner == nil ? nil : 1 << 30 }

    public func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        let size = input.size
        guard TiltSplit.canSplit(size) else {
            throw FilterError.unsuitableInput(what: "the volume size", found: "\(size)", expected: "at least \(TiltSplit.minimumEdge) voxels along each axis to split by tilts")
        }
        var info = input
        info.elementType = .float32
        return info
    }

    /// The mode names in reservations.
    static let inMemory = "in memory (split and spectra)", outOfCore = "out of core (bands of planes, scratch files)",
        windowed = "in windows of sections (scratch files)"

    public func minimumBytes(for input: VolumeInfo) -> Int {
        let windows = window.windows(for: input)
        guard windows.windows.count == 1 else { return WindowedTiltSplit.minimumBytes(input.size, windows: windows) }
        return min(InMemoryTiltSplit.bytes(input.size), OutOfCoreTiltSplit.minimumBytes(input.size))
    }

    public func reserve(for input: VolumeInfo, available: Int) -> WholeVolumeReservation? {
        let windows = window.windows(for: input)
        if windows.windows.count > 1 {
            // A window in memory (with the refiner) if it fits, else as much as there is for its
            // out-of-core engine.
            let windowSize = WindowedTiltSplit.windowSize(input.size, windows)
            let inMemory = (refiner.map { WindowedTiltSplit.refinedBytes(windowSize, $0) } ?? InMemoryTiltSplit.bytes(windowSize)) + WindowedTiltSplit.chunkBytes(input.size)
            let bytes = max(min(inMemory, available), PlaneSamples.bytes(for: input.size))
            guard WindowedTiltSplit.minimumBytes(input.size, windows: windows) <= available, bytes <= available else { return nil }
            return WholeVolumeReservation(mode: Self.windowed, bytes: bytes)
        }
        let inMemory = InMemoryTiltSplit.bytes(input.size, refined: refiner != nil) + (refiner?.memoryBytes ?? 0)
        if inMemory <= available { return WholeVolumeReservation(mode: Self.inMemory, bytes: inMemory) }
        guard OutOfCoreTiltSplit.minimumBytes(input.size) <= available else { return nil }
        return WholeVolumeReservation(mode: Self.outOfCore, bytes: available)
    }

    public func begin(input: VolumeInfo, reservation: WholeVolumeReservation) throws {
        switch reservation.mode {
        case Self.inMemory:
            engine = InMemoryTiltSplit(size: input.size, bins: Self.bins(bins, for: input.size), refiner: refiner)
        case Self.windowed:
            let windows = window.windows(for: input)
            let windowSize = WindowedTiltSplit.windowSize(input.size, windows)
            var windowRefiner = refiner
            if let refiner {
                let needed = WindowedTiltSplit.refinedBytes(windowSize, refiner) + WindowedTiltSplit.chunkBytes(input.size)
                if needed > reservation.bytes {
                    Log.info("in windows of sections: filtered by the shared spectrum only (the network on the halves needs a window in memory: --memory \(Self.memoryText(needed)) or more, or --split-refine filter)")
                    windowRefiner = nil
                }
            }
            engine = try WindowedTiltSplit(
                size: input.size, bins: Self.bins(bins, for: windowSize), bytes: reservation.bytes,
                windows: windows, sampleGeometry: knownGeometry == nil, refiner: windowRefiner)
        default:
            if let refiner { Log.info("out of core: filtered by the shared spectrum only (the network on the halves needs the volume in memory: --memory \(Self.memoryText(InMemoryTiltSplit.bytes(input.size, refined: true) + refiner.memoryBytes)) or more, or --split-refine filter)") }
            engine = try OutOfCoreTiltSplit(size: input.size, bins: Self.bins(bins, for: input.size), bytes: reservation.bytes, sampleGeometry: knownGeometry == nil)
        }
    }

    public func absorb(_ sections: UnsafePointer<Float>, from z: Int, count: Int) throws {
        try engine!.absorb(sections, from: z, count: count)
    }

    public func finishInput() throws {
        let start = ProgressReporter.now()
        let summary = try engine!.finish(split: split, knownGeometry: knownGeometry, source: name)
        let seconds = ProgressReporter.now() - start
        if summary.refined {
            Log.info(String(format: "denoised from the two halves (they share signal in %.1f %% of the power) in %.1f s in all", summary.signalShare * 100, seconds))
        } else {
            Log.info(String(format: "filtered by the spectrum the two halves share (signal %.1f %% of the power, %.1f %% kept) in %.1f s in all", summary.signalShare * 100, summary.keptPower * 100, seconds))
        }
    }

    /// `bytes` rounded up to MiB, as `--memory` takes it.
    static func memoryText(_ bytes: Int) -> String { "\((bytes + (1 << 20) - 1) >> 20)M" }

    /// At most `bins`, and at least 4 frequencies of the shortest axis per bin (a 32-voxel axis
    /// with 16 bins would have one sample per bin along it, and its gains would be noise).
    static func bins(_ bins: Int, for size: Size3) -> Int {
        min(bins, max(2, min(size.x, size.y, size.z) / 4))
    }

    public func emit(_ sections: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        try engine!.emit(sections, into: destination)
    }

    public func end() {
        engine = nil
    }
}

/// How a ``TiltSplitDenoiser`` run holds the volume: the stage's input, the split and filter, the output.
protocol TiltSplitEngine: AnyObject {
    func absorb(_ sections: UnsafePointer<Float>, from z: Int, count: Int) throws
    /// Finds the geometry (unless known), splits, filters.
    func finish(split: TiltSplit, knownGeometry: TiltSplit.Geometry?, source: String) throws -> HalfSpectrumWiener.Summary
    func emit(_ sections: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws
}

/// ``TiltSplitDenoiser`` with the volume, its halves and their whole-volume spectra in memory.
final class InMemoryTiltSplit: TiltSplitEngine {
    let size: Size3
    let bins: Int
    private var volume: [Float]

    /// The volume and both halves, then one half and two spectra (nz·ny·(nx/2+1) complex values
    /// each: a little more than a volume).
    /// With a refiner: three spectra and up to five volumes (the halves and the volume without the
    /// band, the band, the refined volume), plus what the refiner holds (its own pipelines).
    static func bytes(_ size: Size3, refined: Bool = false) -> Int {
        let volume = size.voxelCount * 4, spectrum = size.z * size.y * (size.x / 2 + 1) * 8
        if refined { return 3 * spectrum + 5 * volume }
        return max(3 * volume + spectrum, 2 * volume + 2 * spectrum)
    }

    let refiner: (any SplitRefiner)?

    init(size: Size3, bins: Int, refiner: (any SplitRefiner)? = nil) {
        self.size = size
        self.bins = bins
        self.refiner = refiner
        volume = [Float](repeating: 0, count: size.voxelCount)
    }

    func absorb(_ sections: UnsafePointer<Float>, from z: Int, count: Int) throws {
        let plane = size.sectionVoxels
        volume.withUnsafeMutableBufferPointer { v in
            (v.baseAddress! + z * plane).update(from: sections, count: count * plane)
        }
    }

    func finish(split: TiltSplit, knownGeometry: TiltSplit.Geometry?, source: String) throws -> HalfSpectrumWiener.Summary {
        let start = ProgressReporter.now()
        let geometry = try knownGeometry ?? volume.withUnsafeBufferPointer {
            try split.geometry(of: $0.baseAddress!, size: size, source: source, log: Log.info)
        }
        var (first, second, residual) = volume.withUnsafeBufferPointer { TiltSplit.halves(of: $0.baseAddress!, size: size, geometry: geometry) }
        TiltSplit.logSplit(since: start, residual: residual)
        if let refiner {
            return try HalfSpectrumWiener.refine(
                volume: &volume, first: &first, second: &second, size: size, bins: bins, axis: geometry.fit.axis, refiner: refiner)
        }
        let wiener = try HalfSpectrumWiener(first: &first, second: &second, size: size, bins: bins)
        return try wiener.filter(&volume)
    }

    func emit(_ sections: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        let plane = size.sectionVoxels
        volume.withUnsafeBufferPointer { v in
            destination.update(from: v.baseAddress! + sections.lowerBound * plane, count: sections.count * plane)
        }
    }
}
