import CFFTW
import FFTSupport
import FilterKit

/// The deconvolution with the whole volume in memory. Holds the volume once, as float32, with
/// each X row padded to 2·(nx/2 + 1) values, and transforms it in place in two steps:
///
/// 1. each section's 2-D real-to-complex FFT, as the sections arrive (overlapping the reading);
/// 2. for each Y row of the spectrum, its nz × (nx/2 + 1) values gathered into a small
///    contiguous buffer, the FFT along Z, the filter (with FFTW's 1/N folded in), the inverse
///    FFT along Z, scattered back; then each section's 2-D complex-to-real FFT.
///
/// The same arithmetic as one 3-D transform, in pieces that stay in cache: FFTW's ESTIMATE
/// plans for a whole 256³ transform take 0.25 s (its MEASURE plans 0.06 s, after 10 s of
/// planning) because only measuring finds the buffered plans that power-of-two strides need;
/// these small plans are as fast estimated, so a first run on a new shape costs no planning.
final class InMemoryDeconvolution: DeconvolutionEngine {
    let size: Size3
    /// Floats per padded X row.
    let rowStride: Int
    private let halfX: Int
    private let buffer: FFTW.Buffer
    private var data: UnsafeMutablePointer<Float> { buffer.pointer }
    /// One gather buffer of nz × (nx/2 + 1) complex values per thread.
    private let columns: [FFTW.Buffer]
    private let sectionForward: FFTW.Plan
    private let sectionBackward: FFTW.Plan
    private let zForward: FFTW.Plan
    private let zBackward: FFTW.Plan
    private let table: WienerTable
    private let normalize: Bool
    private var input = RunningStatistics()
    private var rescale: OutputRescale?

    /// Bytes held for a volume of `size` (the volume and the gather buffers of `threads`).
    static func bytes(_ size: Size3, threads: Int = Parallel.threads) -> Int {
        size.z * size.y * 2 * (size.x / 2 + 1) * 4 + threads * size.z * (size.x / 2 + 1) * 8
    }

    init(size: Size3, table: WienerTable, normalize: Bool, rigor: FFTW.Rigor) throws {
        self.size = size
        self.table = table
        self.normalize = normalize
        halfX = size.x / 2 + 1
        rowStride = 2 * halfX
        buffer = FFTW.Buffer(floats: size.z * size.y * rowStride)
        columns = (0..<Parallel.threads).map { _ in FFTW.Buffer(floats: size.z * 2 * (size.x / 2 + 1)) }
        let data = buffer.pointer, column = columns[0].pointer
        let (nz, ny, nx, hx) = (Int32(size.z), Int32(size.y), Int32(size.x), Int32(halfX))
        // Sections after the first start at offsets FFTW may see as differently aligned.
        let sectionFloats = size.y * rowStride
        let unaligned = size.z > 1 && fftwf_alignment_of(data) != fftwf_alignment_of(data + sectionFloats)
        let alignment = unaligned ? UInt32(FFTW_UNALIGNED) : 0
        // `values` is the work each plan does over the volume: `auto` estimates all of them (from
        // wisdom when a `--planner measure` run stored some).
        let work = size.voxelCount
        var real: [Int32] = [ny, nx], padded: [Int32] = [ny, Int32(rowStride)], half: [Int32] = [ny, hx]
        sectionForward = try FFTW.plan(threads: 1, rigor: rigor, values: work, what: "a \(nx)×\(ny) real-to-complex FFT") { flags in
            fftwf_plan_many_dft_r2c(2, &real, 1, data, &padded, 1, 0, data.complex, &half, 1, 0, flags | alignment)
        }
        sectionBackward = try FFTW.plan(threads: 1, rigor: rigor, values: work, what: "a \(nx)×\(ny) complex-to-real FFT") { flags in
            fftwf_plan_many_dft_c2r(2, &real, 1, data.complex, &half, 1, 0, data, &padded, 1, 0, flags | alignment)
        }
        var n = nz
        zForward = try FFTW.plan(threads: 1, rigor: rigor, values: work, what: "\(hx) FFTs of length \(nz)") { flags in
            fftwf_plan_many_dft(1, &n, hx, column.complex, nil, hx, 1, column.complex, nil, hx, 1, FFTW_FORWARD, flags)
        }
        zBackward = try FFTW.plan(threads: 1, rigor: rigor, values: work, what: "\(hx) FFTs of length \(nz)") { flags in
            fftwf_plan_many_dft(1, &n, hx, column.complex, nil, hx, 1, column.complex, nil, hx, 1, FFTW_BACKWARD, flags)
        }
    }

    private func section(_ z: Int) -> UnsafeMutablePointer<Float> { data + z * size.y * rowStride }

    func absorb(_ sections: UnsafePointer<Float>, from z: Int, count: Int) throws {
        let (nx, ny) = (size.x, size.y)
        input.add(sections, count: count * nx * ny)
        let plan = sectionForward.pointer
        Parallel.forEachChunk(count) { range in
            for k in range {
                let target = section(z + k)
                for y in 0..<ny { (target + y * rowStride).update(from: sections + (k * ny + y) * nx, count: nx) }
                fftwf_execute_dft_r2c(plan, target, target.complex)
            }
        }
    }

    func finishInput() throws {
        let (nz, ny, hx) = (size.z, size.y, halfX)
        let radius = SpectrumRadius(size)
        let scale = 1 / Double(size.voxelCount)
        let evenX = size.x % 2 == 0
        let rowFloats = hx * 2
        let (forward, backward) = (zForward.pointer, zBackward.pointer)
        table.values.withUnsafeBufferPointer { w in
            Parallel.forEachPiece(ny, maximumPieces: columns.count) { piece, rows in
                let column = columns[piece].pointer
                for ky in rows {
                    for kz in 0..<nz { (column + kz * rowFloats).update(from: section(kz) + ky * rowStride, count: rowFloats) }
                    fftwf_execute_dft(forward, column.complex, column.complex)
                    for kz in 0..<nz {
                        _ = radius.filterRow(column + kz * rowFloats, kz: kz, ky: ky, table: w.baseAddress!, scale: scale, evenX: evenX)
                    }
                    fftwf_execute_dft(backward, column.complex, column.complex)
                    for kz in 0..<nz { (section(kz) + ky * rowStride).update(from: column + kz * rowFloats, count: rowFloats) }
                }
            }
        }
        // Back to real space section by section, with the statistics of each, merged in order.
        let plan = sectionBackward.pointer
        var sections = [RunningStatistics](repeating: RunningStatistics(), count: nz)
        sections.withUnsafeMutableBufferPointer { stats in
            nonisolated(unsafe) let stats = stats
            Parallel.forEachChunk(nz) { range in
                for z in range {
                    let s = section(z)
                    fftwf_execute_dft_c2r(plan, s.complex, s)
                    for y in 0..<ny { stats[z].add(s + y * rowStride, count: size.x) }
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
                rescale!.apply(section(z) + y * rowStride, destination + (k * ny + y) * nx, count: nx)
            }
        }
    }
}
