import CFFTW
import FFTSupport
import FilterKit

/// The exact deconvolution of a volume larger than memory, in three passes over a scratch file
/// of the half spectrum (nz·ny·(nx/2 + 1) complex float32, about the input's size):
///
/// 1. as sections arrive: a 2-D r2c FFT of each (several sections in parallel) → scratch;
/// 2. per block of Y rows: every section's rows read back, a 1-D FFT along Z, the filter (with
///    FFTW's 1/N folded in) and Parseval sums for the output's mean and variance, the inverse
///    1-D FFT, written back;
/// 3. as sections are asked for: a 2-D c2r FFT of each, rescaled to the input's mean and std.
///
/// Memory: a block of rows × all sections, plus two sections per thread.
final class OutOfCoreDeconvolution: DeconvolutionEngine {
    let size: Size3
    /// Complex values per X row of the half spectrum.
    let halfX: Int
    /// Y rows per pass-2 block.
    let blockRows: Int
    private let table: WienerTable
    private let normalize: Bool
    private let scratch: ScratchFile
    /// Per thread: one real section and one half-spectrum section.
    private let workers: [(real: FFTW.Buffer, spectrum: FFTW.Buffer)]
    /// Pass 2's rows of every section: `[z][row][kx]` complex.
    private let blockBuffer: FFTW.Buffer
    private var block: UnsafeMutablePointer<Float> { blockBuffer.pointer }
    private let sectionForward: FFTW.Plan
    private let sectionBackward: FFTW.Plan
    private let columnForward: FFTW.Plan
    private let columnBackward: FFTW.Plan
    private var input = RunningStatistics()
    private var rescale: OutputRescale?

    /// Per-thread bytes: one real section and one half-spectrum section.
    static func workerBytes(_ size: Size3) -> Int { size.y * (size.x + 2 * (size.x / 2 + 1)) * 4 }

    /// Bytes of one Y row of the half spectrum through every section.
    static func rowBytes(_ size: Size3) -> Int { size.z * (size.x / 2 + 1) * 8 }

    static func minimumBytes(_ size: Size3, threads: Int) -> Int { threads * workerBytes(size) + rowBytes(size) }

    /// The largest block of rows that fits `available` bytes, or nil when not even one does.
    static func reservation(_ size: Size3, threads: Int, available: Int) -> WholeVolumeReservation? {
        let fixed = threads * workerBytes(size)
        let rows = min(size.y, (available - fixed) / rowBytes(size))
        guard rows >= 1 else { return nil }
        return WholeVolumeReservation(mode: "out of core", bytes: fixed + rows * rowBytes(size))
    }

    init(size: Size3, table: WienerTable, normalize: Bool, rigor: FFTW.Rigor, bytes: Int) throws {
        self.size = size
        self.table = table
        self.normalize = normalize
        halfX = size.x / 2 + 1
        let threads = Parallel.threads
        blockRows = max(1, min(size.y, (bytes - threads * OutOfCoreDeconvolution.workerBytes(size)) / OutOfCoreDeconvolution.rowBytes(size)))
        scratch = try ScratchFile(purpose: "FFT scratch file for deconv", bytes: Int64(size.z) * Int64(size.y) * Int64(halfX) * 8)
        let (nx, ny, nz, hx) = (size.x, size.y, size.z, halfX)
        workers = (0..<threads).map { _ in (FFTW.Buffer(floats: ny * nx), FFTW.Buffer(floats: ny * 2 * hx)) }
        blockBuffer = FFTW.Buffer(floats: nz * blockRows * 2 * hx)
        let (real, spectrum, block, columns) = (workers[0].real.pointer, workers[0].spectrum.pointer, blockBuffer.pointer, Int32(blockRows * hx))
            sectionForward = try FFTW.plan(threads: 1, rigor: rigor, values: nx * ny, what: "a \(nx)×\(ny) real-to-complex FFT") { flags in
                fftwf_plan_dft_r2c_2d(Int32(ny), Int32(nx), real, spectrum.complex, flags)
            }
            sectionBackward = try FFTW.plan(threads: 1, rigor: rigor, values: nx * ny, what: "a \(nx)×\(ny) complex-to-real FFT") { flags in
                fftwf_plan_dft_c2r_2d(Int32(ny), Int32(nx), spectrum.complex, real, flags)
            }
            var n = Int32(nz)
            columnForward = try FFTW.plan(threads: threads, rigor: rigor, values: nz * Int(columns), what: "\(columns) FFTs of length \(nz)") { flags in
                fftwf_plan_many_dft(1, &n, columns, block.complex, nil, columns, 1, block.complex, nil, columns, 1, FFTW_FORWARD, flags)
            }
            columnBackward = try FFTW.plan(threads: threads, rigor: rigor, values: nz * Int(columns), what: "\(columns) FFTs of length \(nz)") { flags in
                fftwf_plan_many_dft(1, &n, columns, block.complex, nil, columns, 1, block.complex, nil, columns, 1, FFTW_BACKWARD, flags)
            }
    }

    /// Bytes of the scratch file.
    var scratchBytes: Int { size.z * sectionSpectrumBytes }
    var scratchDirectory: String { scratch.directory }

    /// Bytes of one half-spectrum section in the scratch file.
    private var sectionSpectrumBytes: Int { size.y * halfX * 8 }

    /// Pass 1: each section's 2-D spectrum to the scratch file.
    func absorb(_ sections: UnsafePointer<Float>, from z: Int, count: Int) throws {
        let voxels = size.sectionVoxels
        input.add(sections, count: count * voxels)
        try Parallel.forEachPiece(count, maximumPieces: workers.count) { piece, range in
            let (real, spectrum) = (workers[piece].real.pointer, workers[piece].spectrum.pointer)
            for k in range {
                real.update(from: sections + k * voxels, count: voxels)
                fftwf_execute_dft_r2c(sectionForward.pointer, real, spectrum.complex)
                try scratch.write(UnsafeRawBufferPointer(start: spectrum, count: sectionSpectrumBytes), at: Int64(z + k) * Int64(sectionSpectrumBytes))
            }
        }
    }

    /// Pass 2: along Z, block by block of Y rows; the output statistics by Parseval.
    func finishInput() throws {
        let (ny, nz, hx) = (size.y, size.z, halfX)
        let radius = SpectrumRadius(size)
        let scale = 1 / Double(size.voxelCount)
        let evenX = size.x % 2 == 0
        let planeFloats = blockRows * hx * 2
        var energy = 0.0, mean = 0.0
        var planeEnergy = [Double](repeating: 0, count: nz)
        for row0 in stride(from: 0, to: ny, by: blockRows) {
            let rows = min(blockRows, ny - row0)
            if rows < blockRows { block.initialize(repeating: 0, count: nz * planeFloats) }
            let bytes = rows * hx * 8
            for z in 0..<nz {
                try scratch.read(into: UnsafeMutableRawBufferPointer(start: block + z * planeFloats, count: bytes), at: Int64(z * ny + row0) * Int64(hx) * 8)
            }
            fftwf_execute(columnForward.pointer)
            table.values.withUnsafeBufferPointer { w in
                planeEnergy.withUnsafeMutableBufferPointer { planeEnergy in
                    nonisolated(unsafe) let planeEnergy = planeEnergy
                    Parallel.forEachChunk(nz) { planes in
                        for kz in planes {
                            var sum = 0.0
                            for r in 0..<rows {
                                sum += radius.filterRow(block + kz * planeFloats + r * hx * 2, kz: kz, ky: row0 + r, table: w.baseAddress!, scale: scale, evenX: evenX)
                            }
                            planeEnergy[kz] = sum
                        }
                    }
                }
            }
            energy += planeEnergy.reduce(0, +)
            if row0 == 0 { mean = Double(block[0]) }
            fftwf_execute(columnBackward.pointer)
            for z in 0..<nz {
                try scratch.write(UnsafeRawBufferPointer(start: block + z * planeFloats, count: bytes), at: Int64(z * ny + row0) * Int64(hx) * 8)
            }
        }
        rescale = try OutputRescale(input: input, outputMean: mean, outputVariance: energy - mean * mean, normalize: normalize)
    }

    /// Pass 3: each section back to real space, rescaled.
    func emit(_ sections: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        let voxels = size.sectionVoxels
        let rescale = rescale!
        try Parallel.forEachPiece(sections.count, maximumPieces: workers.count) { piece, range in
            let (real, spectrum) = (workers[piece].real.pointer, workers[piece].spectrum.pointer)
            for k in range {
                try scratch.read(into: UnsafeMutableRawBufferPointer(start: spectrum, count: sectionSpectrumBytes), at: Int64(sections.lowerBound + k) * Int64(sectionSpectrumBytes))
                fftwf_execute_dft_c2r(sectionBackward.pointer, spectrum.complex, real)
                rescale.apply(real, destination + k * voxels, count: voxels)
            }
        }
    }
}
