import CFFTW
import FFTSupport
import FilterKit

/// Makes a synthetic tomogram slab by slab with memory bounded by one slab, never the volume.
///
/// Each slab of ``coreSections`` output sections is drawn with ``haloSections`` more on either
/// side, imaged by one 3-D FFT of that padded slab (the CTF and the missing wedge; overlap-save,
/// so slabs join without seams), and the noise is made the same way from Gaussian values keyed
/// to each voxel's global index. The slab geometry is fixed, so the bytes depend only on the
/// settings and the seed — not on threads or memory.
///
/// The clean volume is standardised to mean 0 and standard deviation 1 (a first pass measures
/// them), and the noise has variance 1/SNR.
public final class PhantomGenerator {
    /// Output sections made per slab.
    public static let coreSections = 16
    /// Context sections drawn either side of a slab for its FFT.
    public static let haloSections = 8
    static var depth: Int { coreSections + 2 * haloSections }

    /// The two volumes a phantom has.
    public enum Volume: Sendable {
        /// The ground truth: imaged, noise-free.
        case clean
        /// The ground truth plus noise.
        case noisy
        /// The ground truth plus noise independent of ``noisy``'s, of the same kind and variance:
        /// the other half of a two-half reconstruction.
        case secondHalf
    }

    public let settings: PhantomSettings
    /// The output's description (float32, the voxel size, a label with the settings).
    public let info: VolumeInfo
    private let scene: CellScene
    private let imaging: ImagingModel
    private let buffer: FFTW.Buffer
    private let forward: FFTW.Plan
    private let backward: FFTW.Plan
    /// Row stride of the padded real layout FFTW's in-place transform needs.
    private let rowStride: Int
    /// Wedge mask and noise amplitude per (kz, kx) of the half spectrum.
    private let wedge: [Float]
    private let noiseShape: [Float]
    /// Scale of white Gaussian values that gives noise of variance 1/SNR after `noiseShape`.
    private let noiseScale: Float

    /// Bytes the generator holds for volumes of `size`: the padded slab and one output slab.
    public static func bytes(for size: Size3, secondHalf: Bool = false) -> Int {
        depth * size.y * 2 * (size.x / 2 + 1) * 4 + (secondHalf ? 2 : 1) * coreSections * size.sectionVoxels * 4
    }

    public init(settings: PhantomSettings) throws {
        try settings.validate()
        self.settings = settings
        let s = settings
        info = VolumeInfo(
            size: s.size, elementType: .float32, voxelSize: SIMD3(repeating: Float(s.voxelSize)), kind: .volume,
            labels: [String("stdio-filter synth seed=\(s.seed) snr=\(s.snr) noise=\(s.noise.rawValue) df=\(s.defocus)um wedge=\(s.tiltRange)".prefix(80))])
        scene = CellScene(settings: s)
        imaging = ImagingModel(settings: s)
        let (nx, ny, d) = (s.size.x, s.size.y, PhantomGenerator.depth)
        let half = nx / 2 + 1
        rowStride = 2 * half
        buffer = FFTW.Buffer(floats: d * ny * rowStride)
        let data = buffer.pointer
        let what = "a \(nx)×\(ny)×\(d) FFT for the phantom"
        forward = try FFTW.plan(threads: Parallel.threads, rigor: .estimate, values: d * ny * nx, what: what) { flags in
            fftwf_plan_dft_r2c_3d(Int32(d), Int32(ny), Int32(nx), data, data.complex, flags)
        }
        backward = try FFTW.plan(threads: Parallel.threads, rigor: .estimate, values: d * ny * nx, what: what) { flags in
            fftwf_plan_dft_c2r_3d(Int32(d), Int32(ny), Int32(nx), data.complex, data, flags)
        }
        var wedge = [Float](repeating: 0, count: d * half), shape = wedge
        var meanSquare = 0.0
        for j in 0..<d {
            let kz = FourierGrid.frequency(j, d, s.voxelSize)
            for i in 0..<half {
                let kx = Double(i) / (Double(nx) * s.voxelSize)
                wedge[j * half + i] = imaging.measured(kx: kx, kz: kz) ? 1 : 0
                let amplitude = s.noise == .tomographic ? imaging.noiseAmplitude(kx: kx, kz: kz) : 1
                shape[j * half + i] = amplitude
                // The half spectrum stands for both halves except at kx = 0 (and Nyquist, even nx).
                let weight = i == 0 || (nx % 2 == 0 && i == nx / 2) ? 1.0 : 2.0
                meanSquare += weight * Double(amplitude * amplitude)
            }
        }
        meanSquare /= Double(d * nx)
        self.wedge = wedge
        noiseShape = shape
        noiseScale = Float((1 / s.snr).squareRoot() / max(meanSquare, 1e-30).squareRoot())
    }

    /// Makes the volume: `emit(volume, sections, values)` receives consecutive output sections of
    /// the clean volume (when `clean` is true), of the noisy one and of a second half (when
    /// `secondHalf` is true), slab by slab, in Z order. `values` may be modified by `emit`.
    /// `progress` gets the sections done out of 2·nz (a measuring pass, then the output pass).
    public func generate(
        clean: Bool, secondHalf: Bool = false, progress: (Int) -> Void = { _ in },
        emit: (Volume, Range<Int>, UnsafeMutablePointer<Float>) throws -> Void
    ) throws {
        let (nx, ny, nz) = (info.size.x, info.size.y, info.size.z)
        let core = UnsafeMutablePointer<Float>.allocate(capacity: PhantomGenerator.coreSections * nx * ny)
        let other = secondHalf ? UnsafeMutablePointer<Float>.allocate(capacity: PhantomGenerator.coreSections * nx * ny) : nil
        defer {
            core.deallocate()
            other?.deallocate()
        }
        // Pass 1: the mean and standard deviation of the imaged density.
        var statistics = RunningStatistics()
        for z0 in stride(from: 0, to: nz, by: PhantomGenerator.coreSections) {
            let sections = z0..<min(nz, z0 + PhantomGenerator.coreSections)
            imagedDensity(sections, into: core)
            statistics.add(core, count: sections.count * nx * ny)
            progress(sections.upperBound)
        }
        let mean = Float(statistics.mean)
        let scale = statistics.standardDeviation > 0 ? Float(1 / statistics.standardDeviation) : 1
        // Pass 2: the clean volume, standardised, then the noise on top.
        for z0 in stride(from: 0, to: nz, by: PhantomGenerator.coreSections) {
            let sections = z0..<min(nz, z0 + PhantomGenerator.coreSections)
            let count = sections.count * nx * ny
            imagedDensity(sections, into: core)
            Parallel.forEachChunk(count, minimumChunk: 1 << 16) { range in
                for i in range { core[i] = (core[i] - mean) * scale }
            }
            if clean { try emit(.clean, sections, core) }
            other?.update(from: core, count: count)
            addNoise(sections, to: core, stream: PhantomGenerator.noiseStream)
            try emit(.noisy, sections, core)
            if let other {
                addNoise(sections, to: other, stream: PhantomGenerator.secondHalfNoiseStream)
                try emit(.secondHalf, sections, other)
            }
            progress(nz + sections.upperBound)
        }
    }

    /// Sections `sections` of the density after the microscope, unnormalised, into `out`.
    private func imagedDensity(_ sections: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let (nx, ny, d) = (info.size.x, info.size.y, PhantomGenerator.depth)
        let first = sections.lowerBound - PhantomGenerator.haloSections
        let features = scene.features(overlapping: first..<(first + d))
        let data = buffer.pointer, stride = rowStride
        Parallel.forEachChunk(d) { range in
            for j in range {
                let plane = data + j * ny * stride
                for y in 0..<ny { (plane + y * stride).update(repeating: 0, count: nx) }
                for feature in features { feature.draw(section: first + j, into: plane, nx: nx, ny: ny, rowStride: stride) }
                // Objects only in the ice; vacuum outside it.
                let ice = scene.ice(first + j), vacuum = Float(CellScene.vacuumDensity) * (1 - ice)
                for y in 0..<ny {
                    let row = plane + y * stride
                    for x in 0..<nx { row[x] = row[x] * ice + vacuum }
                }
            }
        }
        let half = nx / 2 + 1, a = settings.voxelSize
        func squared(_ k: Double) -> Double { k * k }
        let kx2 = (0..<half).map { squared(Double($0) / (Double(nx) * a)) }
        let ky2 = (0..<ny).map { squared(FourierGrid.frequency($0, ny, a)) }
        let kz2 = (0..<d).map { squared(FourierGrid.frequency($0, d, a)) }
        filterSlab(sections, into: out, add: false) { j, y, i in
            imaging.transfer(kx2[i] + (ky2[y] + kz2[j])) * wedge[j * half + i]
        }
    }

    /// The random streams of the noisy volume's noise and of the second half's.
    static let noiseStream: UInt64 = 0x4015E, secondHalfNoiseStream: UInt64 = 0x4015E2

    /// Adds noise of variance 1/SNR drawn from `stream` to `values` (sections `sections`).
    private func addNoise(_ sections: Range<Int>, to values: UnsafeMutablePointer<Float>, stream: UInt64) {
        let (nx, ny, d) = (info.size.x, info.size.y, PhantomGenerator.depth)
        let random = RandomStream(seed: settings.seed, stream: stream)
        let scale = noiseScale
        switch settings.noise {
        case .none:
            return
        case .white:
            let base = sections.lowerBound * ny * nx
            Parallel.forEachChunk(sections.count * ny, minimumChunk: 64) { rows in
                for row in rows { PhantomGenerator.gaussianRow(random, first: base + row * nx, count: nx, scale: scale, into: values + row * nx, add: true) }
            }
        case .tomographic:
            let first = sections.lowerBound - PhantomGenerator.haloSections
            let data = buffer.pointer, stride = rowStride
            Parallel.forEachChunk(d) { range in
                for j in range {
                    for y in 0..<ny {
                        PhantomGenerator.gaussianRow(random, first: ((first + j) * ny + y) * nx, count: nx, scale: scale, into: data + (j * ny + y) * stride, add: false)
                    }
                }
            }
            let half = nx / 2 + 1
            filterSlab(sections, into: values, add: true) { j, _, i in noiseShape[j * half + i] }
        }
    }

    /// Filters the padded slab in `buffer`: transforms it, multiplies the half spectrum by
    /// `gain(plane, row, kx index)` (and 1/N for FFTW's unnormalised round trip), transforms
    /// back, and copies (or adds) the core sections to `out`.
    private func filterSlab(_ sections: Range<Int>, into out: UnsafeMutablePointer<Float>, add: Bool, gain: (Int, Int, Int) -> Float) {
        let (nx, ny, d) = (info.size.x, info.size.y, PhantomGenerator.depth)
        let half = nx / 2 + 1, norm = Float(1 / Double(d * ny * nx))
        let spectrum = buffer.pointer.complex
        fftwf_execute(forward.pointer)
        Parallel.forEachChunk(d) { range in
            for j in range {
                for y in 0..<ny {
                    let row = spectrum + (j * ny + y) * half
                    for i in 0..<half {
                        let h = gain(j, y, i) * norm
                        row[i].0 *= h
                        row[i].1 *= h
                    }
                }
            }
        }
        fftwf_execute(backward.pointer)
        copyCore(sections, from: buffer.pointer, into: out, add: add)
    }

    /// Writes (or adds) `count` Gaussian values × `scale` for the voxels with global indices
    /// `first ..< first + count`: the value of voxel i is draw i of the stream whatever the row.
    static func gaussianRow(_ random: RandomStream, first: Int, count: Int, scale: Float, into out: UnsafeMutablePointer<Float>, add: Bool) {
        var i = first
        while i < first + count {
            // Voxels 2k and 2k + 1 share one Box–Muller draw.
            let (a, b) = random.normalPair(UInt64(bitPattern: Int64(i >> 1)))
            let v = scale * (i & 1 == 0 ? a : b)
            if add { out[i - first] += v } else { out[i - first] = v }
            if i & 1 == 0 && i + 1 < first + count {
                if add { out[i + 1 - first] += scale * b } else { out[i + 1 - first] = scale * b }
                i += 2
            } else {
                i += 1
            }
        }
    }

    /// Copies (or adds) the core sections of the padded slab in `data` to `out`.
    private func copyCore(_ sections: Range<Int>, from data: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, add: Bool) {
        let (nx, ny) = (info.size.x, info.size.y), stride = rowStride
        for k in 0..<sections.count {
            for y in 0..<ny {
                let from = data + ((k + PhantomGenerator.haloSections) * ny + y) * stride
                let to = out + (k * ny + y) * nx
                if add {
                    for x in 0..<nx { to[x] += from[x] }
                } else {
                    to.update(from: from, count: nx)
                }
            }
        }
    }
}
