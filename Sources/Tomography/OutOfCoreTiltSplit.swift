import CFFTW
import FFTSupport
import FilterKit
import Foundation

/// ``TiltSplitDenoiser`` on a tomogram larger than memory: the same split and Wiener filter,
/// through scratch files, holding a band of planes across the tilt axis or a block of frequencies
/// at a time.
///
/// The split works plane by plane across the tilt axis, and the 3-D transform of a volume is a
/// 2-D one of each such plane followed by 1-D ones along the tilt axis, so:
///
/// 0. as sections arrive: copied to a scratch file (and the sample planes of the geometry search
///    kept, when the geometry is not known yet);
/// 1. per band of planes: read back, split into the halves, and the 2-D r2c transform of each
///    plane of the volume and of both halves to three spectrum scratch files;
/// 2. per block of frequencies: every plane's part of the three spectra read back, 1-D
///    transforms along the tilt axis, the sums per bin (``HalfSpectrumWiener/Sums``);
/// 3. the gains; per block again: the volume's spectrum filtered and transformed back along the
///    tilt axis, written back;
/// 4. per band: the 2-D c2r transforms, written over the input's scratch file, which
///    ``emit(_:into:)`` then reads section by section.
///
/// The result equals the in-memory filter's to float rounding. Scratch space: the volume plus
/// three half spectra (about four volumes).
final class OutOfCoreTiltSplit: TiltSplitEngine {
    let size: Size3
    let bins: Int
    let bytes: Int
    private let input: ScratchFile
    private var samples: PlaneSamples?

    init(size: Size3, bins: Int, bytes: Int, sampleGeometry: Bool) throws {
        self.size = size
        self.bins = bins
        self.bytes = bytes
        input = try ScratchFile(purpose: "scratch copy of the tomogram for s2s", bytes: Int64(Self.scratchBytes(size)))
        samples = sampleGeometry ? PlaneSamples(size: size) : nil
    }

    /// The planes across `axis`: `width` voxels along the axis across the tilt axis and Z,
    /// `depth` = nz, `count` along the tilt axis, and their half spectra `depth × half`.
    struct Layout {
        let axis: BackProjectionSplit.Axis
        let size: Size3
        var width: Int { PlaneSamples.width(axis, size: size) }
        var depth: Int { size.z }
        var count: Int { PlaneSamples.count(axis, size: size) }
        var half: Int { width / 2 + 1 }
        var planeVoxels: Int { width * depth }
        /// Bytes of one plane's half spectrum.
        var spectrumBytes: Int { depth * half * 8 }

        /// The size of a band of `planes` planes (a sub-volume ``BackProjectionSplit`` can split).
        func band(_ planes: Int) -> Size3 {
            axis == .y ? Size3(x: size.x, y: planes, z: size.z) : Size3(x: planes, y: size.y, z: size.z)
        }
    }

    /// Bytes of the scratch files: the volume and three half spectra (the larger axis' layout).
    static func scratchBytes(_ size: Size3) -> Int {
        size.voxelCount * 4 + 3 * BackProjectionSplit.Axis.allCases.map { axis in
            let layout = Layout(axis: axis, size: size)
            return layout.count * layout.spectrumBytes
        }.max()!
    }

    /// Bytes per plane of a band in pass 1 (the band, both halves) and per thread (its plane
    /// and spectrum, the split's three planes of doubles, and some slack: a 200×630×652
    /// tomogram peaked at 292 MiB for 280 MiB with 28 here).
    private static let bandBytesPerVoxel = 12, workerBytesPerVoxel = 48
    /// Frequencies per block at least (shorter reads cost more than they save).
    private static let minimumColumns = 64

    /// The least memory the scheme runs in on `size` (one plane per band, one row per block).
    static func minimumBytes(_ size: Size3) -> Int {
        let planes = BackProjectionSplit.Axis.allCases.map { axis in
            let layout = Layout(axis: axis, size: size)
            return max(layout.planeVoxels * (bandBytesPerVoxel + Parallel.threads * workerBytesPerVoxel), 3 * layout.count * minimumColumns * 8)
        }.max()!
        return max(planes, PlaneSamples.bytes(for: size))
    }

    /// Planes per band and frequencies per block that fit the budget.
    private func passSizes(_ layout: Layout) -> (bandPlanes: Int, blockColumns: Int) {
        // A tenth left for what is not counted (the allocator, FFTW's plans, the split's solver):
        // a 200×630×652 tomogram peaked 13 MiB over its 256 MiB budget without it.
        let bytes = self.bytes * 9 / 10
        let workers = Parallel.threads * Self.workerBytesPerVoxel * layout.planeVoxels
        let bandPlanes = min(layout.count, max(1, (bytes - workers) / (Self.bandBytesPerVoxel * layout.planeVoxels)))
        let blockColumns = min(layout.depth * layout.half, max(Self.minimumColumns, bytes / (3 * layout.count * 8)))
        return (bandPlanes, blockColumns)
    }

    func absorb(_ sections: UnsafePointer<Float>, from z: Int, count: Int) throws {
        try input.write(UnsafeRawBufferPointer(start: sections, count: count * size.sectionVoxels * 4), at: Int64(z) * Int64(size.sectionVoxels) * 4)
        samples?.absorb(sections, from: z, count: count)
    }

    func finish(split: TiltSplit, knownGeometry: TiltSplit.Geometry?, source: String) throws -> HalfSpectrumWiener.Summary {
        let start = ProgressReporter.now()
        let geometry = try knownGeometry ?? split.geometry(of: samples!, source: source, log: Log.info)
        samples = nil
        let layout = Layout(axis: geometry.fit.axis, size: size)
        let (bandPlanes, blockColumns) = passSizes(layout)
        Log.info("out of core: bands of \(bandPlanes) plane\(bandPlanes == 1 ? "" : "s") across the tilt axis, blocks of \(blockColumns) frequencies, scratch in \(input.directory)")
        let spectra = try (0..<3).map { i in
            try ScratchFile(purpose: "\(["volume", "first half", "second half"][i]) spectrum for s2s", bytes: Int64(layout.count * layout.spectrumBytes))
        }
        let residual = try transformBands(layout, bandPlanes: bandPlanes, geometry: geometry, into: spectra)
        TiltSplit.logSplit(since: start, residual: residual)
        let blocks = try FrequencyBlocks(layout: layout, columns: blockColumns)
        let sums = try blocks.sums(spectra, bins: bins)
        let wiener = HalfSpectrumWiener(sums, size: size)
        let (gains, summary) = wiener.gains(power: sums.power)
        try blocks.filter(spectra[0], gains: gains, bins: bins)
        try inverseBands(layout, bandPlanes: bandPlanes, from: spectra[0])
        return summary
    }

    // MARK: - Bands of planes

    /// Pass 1: splits band after band and writes the 2-D spectra of every plane of the volume
    /// and both halves; returns the split's relative residual over the volume.
    private func transformBands(_ layout: Layout, bandPlanes: Int, geometry: TiltSplit.Geometry, into spectra: [ScratchFile]) throws -> Double {
        let workers = try PlaneTransforms(layout)
        let splitter = BackProjectionSplit(angles: geometry.angles)
        var residual = 0.0, total = 0.0
        var band = [Float](repeating: 0, count: bandPlanes * layout.planeVoxels)
        var first = band, second = band
        for p0 in stride(from: 0, to: layout.count, by: bandPlanes) {
            let planes = min(bandPlanes, layout.count - p0)
            let bandSize = layout.band(planes)
            try band.withUnsafeMutableBufferPointer { try moveBand(layout, planes: p0..<p0 + planes, $0.baseAddress!, write: false) }
            let energy = band[0..<bandSize.voxelCount].reduce(0.0) { $0 + Double($1) * Double($1) }
            let relative = band.withUnsafeBufferPointer { v in
                first.withUnsafeMutableBufferPointer { a in
                    second.withUnsafeMutableBufferPointer { b in
                        splitter.split(v.baseAddress!, size: bandSize, fit: geometry.fit, first: a.baseAddress!, second: b.baseAddress!)
                    }
                }
            }
            residual += relative * relative * energy
            total += energy
            for (volume, spectrum) in zip([band, first, second], spectra) {
                try volume.withUnsafeBufferPointer { v in
                    try workers.forward(v.baseAddress!, planes: p0..<p0 + planes, to: spectrum)
                }
            }
        }
        return total > 0 ? (residual / total).squareRoot() : 0
    }

    /// Pass 4: the volume's filtered spectrum back to planes, band by band, over the input's copy.
    private func inverseBands(_ layout: Layout, bandPlanes: Int, from spectrum: ScratchFile) throws {
        let workers = try PlaneTransforms(layout)
        var band = [Float](repeating: 0, count: bandPlanes * layout.planeVoxels)
        for p0 in stride(from: 0, to: layout.count, by: bandPlanes) {
            let planes = p0..<min(layout.count, p0 + bandPlanes)
            try band.withUnsafeMutableBufferPointer { b in
                try workers.inverse(from: spectrum, planes: planes, into: b.baseAddress!)
                try moveBand(layout, planes: planes, b.baseAddress!, write: true)
            }
        }
    }

    /// Reads (or writes) planes `planes` of the input's scratch copy from (to) `band`, a
    /// sub-volume of ``Layout/band(_:)`` (X fastest).
    private func moveBand(_ layout: Layout, planes: Range<Int>, _ band: UnsafeMutablePointer<Float>, write: Bool) throws {
        let (nx, ny) = (size.x, size.y)
        let move = { (offset: Int, count: Int, pointer: UnsafeMutablePointer<Float>) throws in
            try self.input.move(pointer, bytes: count * 4, at: Int64(offset) * 4, writing: write)
        }
        let n = planes.count
        for z in 0..<size.z {
            if layout.axis == .y {
                // Rows p0 ..< p1 of section z are contiguous.
                try move((z * ny + planes.lowerBound) * nx, n * nx, band + z * n * nx)
            } else {
                for y in 0..<ny { try move((z * ny + y) * nx + planes.lowerBound, n, band + (z * ny + y) * n) }
            }
        }
    }

    func emit(_ sections: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        let voxels = size.sectionVoxels
        try input.read(into: UnsafeMutableRawBufferPointer(start: destination, count: sections.count * voxels * 4), at: Int64(sections.lowerBound) * Int64(voxels) * 4)
    }
}

/// The 2-D transforms of the planes of a band (pass 1 and 4 of ``OutOfCoreTiltSplit``), one
/// plane per thread at a time.
private struct PlaneTransforms {
    let layout: OutOfCoreTiltSplit.Layout
    let workers: [(real: FFTW.Buffer, spectrum: FFTW.Buffer)]
    let forwardPlan: FFTW.Plan, inversePlan: FFTW.Plan

    init(_ layout: OutOfCoreTiltSplit.Layout) throws {
        self.layout = layout
        let (width, depth, half) = (layout.width, layout.depth, layout.half)
        workers = (0..<Parallel.threads).map { _ in (FFTW.Buffer(floats: width * depth), FFTW.Buffer(floats: 2 * depth * half)) }
        let (real, spectrum) = (workers[0].real.pointer, workers[0].spectrum.pointer)
        forwardPlan = try FFTW.plan(threads: 1, rigor: .estimate, values: width * depth, what: "a \(width)×\(depth) plane's FFT") { flags in
            fftwf_plan_dft_r2c_2d(Int32(depth), Int32(width), real, spectrum.complex, flags)
        }
        inversePlan = try FFTW.plan(threads: 1, rigor: .estimate, values: width * depth, what: "a \(width)×\(depth) plane's inverse FFT") { flags in
            fftwf_plan_dft_c2r_2d(Int32(depth), Int32(width), spectrum.complex, real, flags)
        }
    }

    /// Index in a band of `planes` planes of voxel (a, z) of its plane `p`.
    @inline(__always)
    func index(plane p: Int, a: Int, z: Int, planes: Int) -> Int {
        layout.axis == .y ? (z &* planes &+ p) &* layout.width &+ a : (z &* layout.width &+ a) &* planes &+ p
    }

    /// Writes the spectra of the band's planes (`band` holds planes `planes`) to `file`.
    func forward(_ band: UnsafePointer<Float>, planes: Range<Int>, to file: ScratchFile) throws {
        let (width, depth, n) = (layout.width, layout.depth, planes.count)
        try Parallel.forEachPiece(n, maximumPieces: workers.count) { piece, range in
            let (real, spectrum) = (workers[piece].real.pointer, workers[piece].spectrum.pointer)
            for p in range {
                for z in 0..<depth {
                    for a in 0..<width { real[z &* width &+ a] = band[index(plane: p, a: a, z: z, planes: n)] }
                }
                fftwf_execute_dft_r2c(forwardPlan.pointer, real, spectrum.complex)
                try file.write(UnsafeRawBufferPointer(start: spectrum, count: layout.spectrumBytes), at: Int64(planes.lowerBound + p) * Int64(layout.spectrumBytes))
            }
        }
    }

    /// Reads the spectra of planes `planes` from `file` and writes their inverse transforms to
    /// `band` (unnormalized, as FFTW's).
    func inverse(from file: ScratchFile, planes: Range<Int>, into band: UnsafeMutablePointer<Float>) throws {
        let (width, depth, n) = (layout.width, layout.depth, planes.count)
        try Parallel.forEachPiece(n, maximumPieces: workers.count) { piece, range in
            let (real, spectrum) = (workers[piece].real.pointer, workers[piece].spectrum.pointer)
            for p in range {
                try file.read(into: UnsafeMutableRawBufferPointer(start: spectrum, count: layout.spectrumBytes), at: Int64(planes.lowerBound + p) * Int64(layout.spectrumBytes))
                fftwf_execute_dft_c2r(inversePlan.pointer, spectrum.complex, real)
                for z in 0..<depth {
                    for a in 0..<width { band[index(plane: p, a: a, z: z, planes: n)] = real[z &* width &+ a] }
                }
            }
        }
    }
}

/// Blocks of frequencies of every plane's spectrum, transformed along the tilt axis (passes 2 and 3
/// of ``OutOfCoreTiltSplit``). A block is a range of `columns` of a plane's spectrum flattened
/// (Z frequency outer, the half axis inner): one read per plane, however wide the planes.
private struct FrequencyBlocks {
    let layout: OutOfCoreTiltSplit.Layout
    let columns: Int
    /// Per spectrum file, `[plane][column]` complex values.
    let buffers: [FFTW.Buffer]
    let forwardPlan: FFTW.Plan, inversePlan: FFTW.Plan

    init(layout: OutOfCoreTiltSplit.Layout, columns: Int) throws {
        self.layout = layout
        self.columns = columns
        buffers = (0..<3).map { _ in FFTW.Buffer(floats: 2 * layout.count * columns) }
        let block = buffers[0].pointer
        var n = Int32(layout.count)
        let howMany = Int32(columns)
        forwardPlan = try FFTW.plan(threads: Parallel.threads, rigor: .estimate, values: layout.count * columns, what: "\(columns) FFTs of length \(n)") { flags in
            fftwf_plan_many_dft(1, &n, howMany, block.complex, nil, howMany, 1, block.complex, nil, howMany, 1, FFTW_FORWARD, flags)
        }
        inversePlan = try FFTW.plan(threads: Parallel.threads, rigor: .estimate, values: layout.count * columns, what: "\(columns) FFTs of length \(n)") { flags in
            fftwf_plan_many_dft(1, &n, howMany, block.complex, nil, howMany, 1, block.complex, nil, howMany, 1, FFTW_BACKWARD, flags)
        }
    }

    /// The blocks: ranges of flattened frequencies `kz · half + ka`.
    private var blocks: [Range<Int>] {
        let total = layout.depth * layout.half
        return stride(from: 0, to: total, by: columns).map { $0..<min(total, $0 + columns) }
    }

    /// Reads (writes) frequencies `range` of every plane's spectrum in `file` to (from) `buffer`.
    private func move(_ file: ScratchFile, _ range: Range<Int>, _ buffer: UnsafeMutablePointer<Float>, write: Bool) throws {
        let bytes = range.count * 8
        for p in 0..<layout.count {
            let offset = Int64(p) * Int64(layout.spectrumBytes) + Int64(range.lowerBound * 8)
            try file.move(buffer + p * columns * 2, bytes: bytes, at: offset, writing: write)
        }
    }

    /// Per flattened frequency, its bin without the tilt axis' part and its weight; per
    /// tilt-axis frequency, that part (the volume's bins are (z, y, x)).
    private func bins(_ bins: Int) -> (plane: [Int], frequency: [Int], weights: [Double]) {
        let half = layout.half
        let plane = (0..<layout.count).map { HalfSpectrumWiener.bin($0, of: layout.count, bins: bins) }
        var frequency: [Int] = [], weights: [Double] = []
        for kz in 0..<layout.depth {
            let z = HalfSpectrumWiener.bin(kz, of: layout.depth, bins: bins) * bins * bins
            for ka in 0..<half {
                let a = HalfSpectrumWiener.bin(ka, of: layout.width, bins: bins)
                // Axis Y: planes are Y, the half axis X; axis X: planes are X, the half axis Y.
                frequency.append(z + (layout.axis == .y ? a : a * bins))
                weights.append(HalfSpectrumWiener.hermitianWeight(ka, of: layout.width))
            }
        }
        return (layout.axis == .y ? plane.map { $0 * bins } : plane, frequency, weights)
    }

    /// Pass 2: the sums per bin over the volume's and the halves' 3-D spectra.
    func sums(_ spectra: [ScratchFile], bins: Int) throws -> HalfSpectrumWiener.Sums {
        let (planeBins, frequencyBins, weights) = self.bins(bins)
        var total = HalfSpectrumWiener.Sums(bins: bins)
        let columns = self.columns
        for range in blocks {
            for (file, buffer) in zip(spectra, buffers) {
                try move(file, range, buffer.pointer, write: false)
                fftwf_execute_dft(forwardPlan.pointer, buffer.pointer.complex, buffer.pointer.complex)
            }
            let (v, a, b) = (buffers[0].pointer, buffers[1].pointer, buffers[2].pointer)
            let lock = NSLock()
            Parallel.forEachChunk(layout.count) { planes in
                var sums = HalfSpectrumWiener.Sums(bins: bins)
                for kp in planes {
                    for f in range where kp != 0 || f != 0 {
                        let i = 2 &* (kp &* columns &+ f &- range.lowerBound), bin = planeBins[kp] &+ frequencyBins[f]
                        sums.addHalves(a + i, b + i, bin: bin, weight: weights[f])
                        sums.addVolume(v + i, bin: bin, weight: weights[f])
                    }
                }
                lock.lock(); total.add(sums); lock.unlock()
            }
        }
        return total
    }

    /// Pass 3: the volume's spectrum times the gains (and FFTW's 1/N), back along the tilt axis.
    func filter(_ file: ScratchFile, gains: [Float], bins: Int) throws {
        let (planeBins, frequencyBins, _) = self.bins(bins)
        let scale = 1 / Float(layout.count * layout.depth * layout.width)
        let block = buffers[0].pointer
        let columns = self.columns
        for range in blocks {
            try move(file, range, block, write: false)
            fftwf_execute_dft(forwardPlan.pointer, block.complex, block.complex)
            Parallel.forEachChunk(layout.count) { planes in
                for kp in planes {
                    for f in range {
                        let i = 2 &* (kp &* columns &+ f &- range.lowerBound)
                        let g = kp == 0 && f == 0 ? scale : gains[planeBins[kp] &+ frequencyBins[f]] * scale
                        block[i] *= g
                        block[i &+ 1] *= g
                    }
                }
            }
            fftwf_execute_dft(inversePlan.pointer, block.complex, block.complex)
            try move(file, range, block, write: true)
        }
    }
}
