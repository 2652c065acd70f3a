import CFFTW
import FFTSupport
import FilterKit

/// The deconvolution with the whole volume in memory: one in-place 3-D r2c FFT, the filter
/// (with FFTW's 1/N folded in), one in-place 3-D c2r FFT. Holds the volume once, as float32,
/// with each X row padded to 2·(nx/2 + 1) values.
final class InMemoryDeconvolution: DeconvolutionEngine {
    let size: Size3
    /// Floats per padded X row.
    let rowStride: Int
    private let buffer: FFTW.Buffer
    private var data: UnsafeMutablePointer<Float> { buffer.pointer }
    private let forward: FFTW.Plan
    private let backward: FFTW.Plan
    private let table: WienerTable
    private let normalize: Bool
    private var input = RunningStatistics()
    private var rescale: OutputRescale?

    /// Bytes held for a volume of `size`.
    static func bytes(_ size: Size3) -> Int { size.z * size.y * 2 * (size.x / 2 + 1) * 4 }

    init(size: Size3, table: WienerTable, normalize: Bool, rigor: FFTW.Rigor) throws {
        self.size = size
        self.table = table
        self.normalize = normalize
        rowStride = 2 * (size.x / 2 + 1)
        buffer = FFTW.Buffer(floats: size.z * size.y * rowStride)
        let data = buffer.pointer
        let (nz, ny, nx) = (Int32(size.z), Int32(size.y), Int32(size.x))
        forward = try FFTW.plan(threads: Parallel.threads, rigor: rigor, values: size.voxelCount, what: "a \(size) real-to-complex FFT") { flags in
            fftwf_plan_dft_r2c_3d(nz, ny, nx, data, data.complex, flags)
        }
        backward = try FFTW.plan(threads: Parallel.threads, rigor: rigor, values: size.voxelCount, what: "a \(size) complex-to-real FFT") { flags in
            fftwf_plan_dft_c2r_3d(nz, ny, nx, data.complex, data, flags)
        }
    }

    func absorb(_ sections: UnsafePointer<Float>, from z: Int, count: Int) throws {
        let (nx, ny) = (size.x, size.y)
        input.add(sections, count: count * nx * ny)
        for row in 0..<(count * ny) {
            (data + (z * ny + row) * rowStride).update(from: sections + row * nx, count: nx)
        }
    }

    func finishInput() throws {
        fftwf_execute(forward.pointer)
        let (nz, ny) = (size.z, size.y)
        let radius = SpectrumRadius(size)
        let scale = 1 / Double(size.voxelCount)
        let evenX = size.x % 2 == 0
        table.values.withUnsafeBufferPointer { w in
            Parallel.forEachChunk(nz * ny, minimumChunk: 16) { rows in
                for r in rows {
                    _ = radius.filterRow(data + r * rowStride, kz: r / ny, ky: r % ny, table: w.baseAddress!, scale: scale, evenX: evenX)
                }
            }
        }
        fftwf_execute(backward.pointer)
        // Statistics of the filtered volume, section by section, merged in order.
        var sections = [RunningStatistics](repeating: RunningStatistics(), count: nz)
        sections.withUnsafeMutableBufferPointer { stats in
            nonisolated(unsafe) let stats = stats
            Parallel.forEachChunk(nz) { range in
                for z in range {
                    for y in 0..<ny { stats[z].add(data + (z * ny + y) * rowStride, count: size.x) }
                }
            }
        }
        var output = RunningStatistics()
        sections.forEach { output.merge($0) }
        let std = output.standardDeviation
        rescale = try OutputRescale(input: input, outputMean: output.mean, outputVariance: std * std, normalize: normalize)
    }

    func emit(_ sections: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        let (nx, ny) = (size.x, size.y)
        for (k, z) in sections.enumerated() {
            for y in 0..<ny {
                rescale!.apply(data + (z * ny + y) * rowStride, destination + (k * ny + y) * nx, count: nx)
            }
        }
    }
}
