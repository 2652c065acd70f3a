import FFTSupport
import FilterKit

/// The CTF deconvolution of IsoNet's `deconv`: the whole volume's 3-D FFT multiplied by the
/// radial Wiener-like filter of ``WienerTable``, transformed back, and (by default) rescaled to
/// the input's mean and standard deviation.
///
/// The filter is global (its kernel reaches ~2/highpassnyquist voxels), so the stage sees the
/// whole volume: in memory when it fits the budget (``InMemoryDeconvolution``), otherwise with
/// the exact three-pass out-of-core scheme (``OutOfCoreDeconvolution``). Both give the same
/// answer to float32 rounding; boundaries are periodic, as in IsoNet.
public final class DeconvolutionStage: WholeVolumeStage {
    public enum Mode: String, CaseIterable, Sendable {
        /// In memory when it fits, else out of core.
        case auto
        case memory
        case outofcore
    }

    public let name = "deconv"
    /// The settings; `angpix` is 0 until ``outputInfo(for:)`` fills it in from the header.
    public private(set) var settings: DeconvolutionSettings
    public let mode: Mode
    /// Rescale the output to the input's mean and standard deviation (IsoNet).
    public let normalize: Bool
    let rigor: FFTW.Rigor
    private var engine: DeconvolutionEngine?

    /// - Parameter settings: with `angpix` 0 to take the pixel size from the input's header.
    public init(settings: DeconvolutionSettings, mode: Mode = .auto, normalize: Bool = true, planner: String = "auto") {
        self.settings = settings
        self.mode = mode
        self.normalize = normalize
        rigor = FFTW.Rigor(rawValue: planner) ?? .auto
    }

    public func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        if settings.angpix == 0 {
            let v = input.voxelSize
            guard v.x > 0 else {
                throw FilterError.invalidParameter(
                    name: "deconv angpix", value: "", expected: "a pixel size in Å (the input's header gives none)")
            }
            settings.angpix = Double(v.x)
            Log.info("angpix \(v.x) Å from the input's header" + (v.y != v.x || (v.z != v.x && v.z > 0) ? " (voxel size \(v.x)×\(v.y)×\(v.z) is not isotropic: X is used)" : ""))
        }
        var info = input
        info.elementType = .float32
        return info
    }

    public func minimumBytes(for input: VolumeInfo) -> Int {
        mode == .memory ? InMemoryDeconvolution.bytes(input.size) : OutOfCoreDeconvolution.minimumBytes(input.size, threads: Parallel.threads)
    }

    public func reserve(for input: VolumeInfo, available: Int) -> WholeVolumeReservation? {
        let whole = InMemoryDeconvolution.bytes(input.size)
        if mode != .outofcore, whole <= available {
            return WholeVolumeReservation(mode: "in memory", bytes: whole)
        }
        guard mode != .memory else { return nil }
        return OutOfCoreDeconvolution.reservation(input.size, threads: Parallel.threads, available: available)
    }

    public func begin(input: VolumeInfo, reservation: WholeVolumeReservation) throws {
        end()
        let table = WienerTable(settings)
        if reservation.mode == "in memory" {
            engine = try InMemoryDeconvolution(size: input.size, table: table, normalize: normalize, rigor: rigor)
            Log.info("whole volume in memory (\(ByteCount(reservation.bytes)))")
        } else {
            let outOfCore = try OutOfCoreDeconvolution(size: input.size, table: table, normalize: normalize, rigor: rigor, bytes: reservation.bytes)
            engine = outOfCore
            Log.info("out of core: \(outOfCore.blockRows)-row blocks in \(ByteCount(reservation.bytes)), \(ByteCount(outOfCore.scratchBytes)) of scratch in \(outOfCore.scratchDirectory)")
        }
        FFTW.saveWisdom()
    }

    public func absorb(_ sections: UnsafePointer<Float>, from z: Int, count: Int) throws {
        try engine!.absorb(sections, from: z, count: count)
    }

    public func finishInput() throws {
        try engine!.finishInput()
    }

    public func emit(_ sections: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        try engine!.emit(sections, into: destination)
    }

    public func end() {
        engine = nil
    }
}

/// One run of the deconvolution over a volume: what the two execution modes have in common.
protocol DeconvolutionEngine: AnyObject {
    func absorb(_ sections: UnsafePointer<Float>, from z: Int, count: Int) throws
    func finishInput() throws
    func emit(_ sections: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws
}

/// The final affine map out = a·raw + b: IsoNet's rescale to the input's mean and standard
/// deviation (population), or the identity.
struct OutputRescale {
    var scale: Float = 1
    var offset: Float = 0

    init(input: RunningStatistics, outputMean: Double, outputVariance: Double, normalize: Bool) throws {
        guard normalize else { return }
        let std = max(0, outputVariance).squareRoot()
        guard std > 0, std.isFinite else {
            throw FilterError.unsupported(
                source: "deconv", what: "the filtered volume is constant (std 0), so it cannot be rescaled to the input's mean and std",
                hint: "use normalize=off")
        }
        scale = Float(input.standardDeviation / std)
        offset = Float(input.mean)
    }

    @inline(__always)
    func apply(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        let (a, b) = (scale, offset)
        var i = 0
        while i < count {
            destination[i] = source[i] * a + b
            i &+= 1
        }
    }
}
