import CFFTW
import FFTSupport
import FilterKit
#if canImport(Glibc)
import Glibc
#endif

/// A back-projected phantom: the `synth` cell imaged as a real tilt series is, then
/// reconstructed, so that a denoiser meets the noise of a real tomogram while its specimen is
/// known.
///
/// 1. The specimen (the cell's density in the ice, dark protein as a tomogram shows it) is drawn
///    slab by slab and projected at every tilt of the ``TiltScheme`` (``ParallelBeam``). The ice
///    slab itself is taken as laterally infinite: its projection is the same everywhere in a tilt
///    and, like the vacuum, is not drawn.
/// 2. Each projection is imaged in contrast units: the weak-phase image 2φ (φ: the protein's phase
///    shift per Å times the path) through the CTF with its B-factor envelope (the defocus of the
///    settings, the same for every tilt) and Grant & Grigorieff's exposure filter for the dose
///    the tilt had seen. Shot noise at the tilt's electron count (dose × area, less the inelastic
///    loss in the ice path 1/cos θ) is drawn as two independent halves of the frames; the noise
///    is resampled as alignment resamples a raw image (rotated by the tilt axis' angle, shifted by
///    a fraction of a voxel, linear interpolation), which correlates neighbours as in real data.
/// 3. Each tilt is scaled to unit standard deviation and filtered along X (the ramp with IMOD's
///    radial fall-off, or a SIRT-like filter), then back-projected section by section.
///
/// Volumes: the specimen; the noise-free reconstruction of all tilts; the full reconstruction;
/// the reconstructions of the even and of the odd tilts (by stack index); and those of the two
/// halves of the frames (every tilt, half the dose each). Each is standardised to mean 0 and
/// standard deviation 1. Deterministic per settings and seed, on any thread count. Memory holds
/// three images per tilt (signal and two noise halves) and slabs of sections, never the volume.
public final class TiltSeriesPhantom {
    /// What the filter before back-projection is.
    public enum Reconstruction: String, Sendable, CaseIterable {
        /// Weighted back-projection: the ramp |f| with IMOD's Gaussian fall-off.
        case wbp
        /// IMOD's SIRT-like filter: the ramp damped as `sirtIterations` of SIRT would leave it.
        case sirtLike = "sirt-like"
    }

    /// Everything that decides the phantom.
    public struct Settings: Sendable, Equatable {
        /// The cell, the microscope (CTF) and the volume; its noise settings are not used.
        public var phantom = PhantomSettings()
        public var scheme = TiltScheme()
        public var reconstruction = Reconstruction.wbp
        public var sirtIterations = 10
        /// The radial filter's cut-off and Gaussian fall-off (cycles/voxel), as IMOD's RADIAL.
        public var radialCutoff = 0.35, radialFalloff = 0.05
        /// Phase shift of protein relative to the ice per Å of path (radians), calibrated so that
        /// the halves' correlation matches the real series at its dose (docs/benchmarks.md).
        public var phasePerAngstrom = 0.0006
        /// Inelastic mean free path in the ice (Å): electrons lost to the zero-loss image.
        public var meanFreePath = 3500.0
        /// Angle of the tilt axis in the raw images (degrees from Y): alignment rotates the noise
        /// by it.
        public var axisAngle = -4.3

        public init() {}

        public func validate() throws {
            try phantom.validate()
            try scheme.validate()
            try requireSetting(sirtIterations >= 1 && sirtIterations <= 1000, "synth --sirt-iterations", sirtIterations, "1 to 1000")
            try requireSetting(phasePerAngstrom.isFinite && phasePerAngstrom > 0 && phasePerAngstrom < 1, "synth --phase", phasePerAngstrom, "a phase per Å between 0 and 1 radian")
            try requireSetting(axisAngle.isFinite && abs(axisAngle) <= 90, "synth --axis-angle", axisAngle, "−90 to 90 degrees")
            try requireSetting(phantom.size.x >= 2, "synth --size", phantom.size, "at least 2 voxels along X for a tilt series")
        }
    }

    /// The volumes a back-projected phantom has.
    public enum Volume: String, Sendable, CaseIterable {
        case specimen, noiseFree = "noise-free", full, evenTilts = "even-tilts", oddTilts = "odd-tilts", evenFrames = "even-frames", oddFrames = "odd-frames"

        /// How a reconstruction sums its parts: weights of the signal and of the two frame
        /// halves' noise, and whether the even and the odd tilts count.
        struct Mixture {
            let weights: SIMD3<Float>
            let even: Float, odd: Float
        }

        /// The reconstruction's mixture (nil for the specimen, which is drawn, not reconstructed).
        var mixture: Mixture? {
            switch self {
            case .specimen: nil
            case .noiseFree: Mixture(weights: [1, 0, 0], even: 1, odd: 1)
            case .full: Mixture(weights: [1, 1, 1], even: 1, odd: 1)
            case .evenTilts: Mixture(weights: [1, 1, 1], even: 1, odd: 0)
            case .oddTilts: Mixture(weights: [1, 1, 1], even: 0, odd: 1)
            // A frame half holds half the electrons: twice its own noise half on the full scale.
            case .evenFrames: Mixture(weights: [1, 2, 0], even: 1, odd: 1)
            case .oddFrames: Mixture(weights: [1, 0, 2], even: 1, odd: 1)
            }
        }
    }

    public let settings: Settings
    /// The output's description (float32, the voxel size, a label with the settings).
    public let info: VolumeInfo
    private let scene: CellScene
    private let imaging: ImagingModel
    private let beam: ParallelBeam
    /// Sections back-projected at a time.
    static let slabSections = 8

    /// Bytes held for `settings`: three images per tilt, the FFT buffer, two scratch images and
    /// the slabs (six back-projected parts, the output, and one per volume's statistics pass).
    public static func bytes(for settings: Settings, volumes: Int) -> Int {
        let s = settings.phantom.size
        let tilts = settings.scheme.angles.count
        return ((3 * tilts + 2) * s.y * s.x + s.y * 2 * (s.x / 2 + 1) + (6 + 1 + volumes) * slabSections * s.y * s.x) * 4
    }

    public init(settings: Settings) throws {
        try settings.validate()
        self.settings = settings
        let p = settings.phantom, scheme = settings.scheme
        info = VolumeInfo(
            size: p.size, elementType: .float32, voxelSize: SIMD3(repeating: Float(p.voxelSize)), kind: .volume,
            labels: [String("stdio-filter synth seed=\(p.seed) \(settings.reconstruction.rawValue) \(scheme.first):\(scheme.last):\(scheme.step) dose=\(scheme.dosePerTilt)".prefix(80))])
        scene = CellScene(settings: p)
        imaging = ImagingModel(settings: p)
        beam = ParallelBeam(width: p.size.x, rows: p.size.y, depth: p.size.z, angles: scheme.angles, axisOffset: scheme.axisOffset)
    }

    /// Electrons per voxel-sized pixel reaching the zero-loss image at each tilt.
    public var counts: [Double] {
        let p = settings.phantom
        let ice = p.iceFraction * Double(p.size.z) * p.voxelSize
        return settings.scheme.angles.map { angle in
            settings.scheme.dosePerTilt * p.voxelSize * p.voxelSize * exp(-ice / (settings.meanFreePath * cos(angle * Double.pi / 180)))
        }
    }

    /// Makes the volumes in `volumes` (the others are skipped): `emit(volume, sections, values)`
    /// receives consecutive output sections of each, slab by slab, in Z order; `values` may be
    /// modified. `progress` gets the sections done out of 3·nz (projection, measuring, writing).
    public func generate(
        volumes: Set<Volume>, progress: (Int) -> Void = { _ in },
        emit: (Volume, Range<Int>, UnsafeMutablePointer<Float>) throws -> Void
    ) throws {
        let (nx, ny, nz) = (info.size.x, info.size.y, info.size.z)
        let tilts = settings.scheme.angles.count, image = ny * nx
        let depth = TiltSeriesPhantom.slabSections
        var specimenStatistics = RunningStatistics()
        let images = try tiltImages { sections, values in
            specimenStatistics.add(values, count: sections.count * image)
            progress(sections.upperBound)
        }
        let (signal, noise) = (images.signal, images.noise)

        // 3. Back-projection: measure every volume, then write them standardised (back-projecting
        //    twice costs less than holding the volumes).
        let wanted = Volume.allCases.filter { volumes.contains($0) }.compactMap { v in v.mixture.map { (v, $0) } }
        let parts = (0..<6).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: depth * image) }
        let out = UnsafeMutablePointer<Float>.allocate(capacity: depth * image)
        defer {
            withExtendedLifetime(images) {}
            parts.forEach { $0.deallocate() }
            out.deallocate()
        }
        let even = stride(from: 0, to: tilts, by: 2).map { $0 }, odd = stride(from: 1, to: tilts, by: 2).map { $0 }
        var statistics = [Volume: RunningStatistics]()
        for pass in 0..<2 {
            for z0 in stride(from: 0, to: nz, by: depth) {
                let sections = z0..<min(nz, z0 + depth)
                let count = sections.count * image
                // Components: signal, first and second noise half, each from even and odd tilts.
                for (k, component) in [signal, noise[0], noise[1]].enumerated() {
                    beam.backProject(images: component, tilts: even, sections: sections, into: parts[2 * k])
                    beam.backProject(images: component, tilts: odd, sections: sections, into: parts[2 * k + 1])
                }
                for (volume, mixture) in wanted {
                    combine(mixture, parts, count: count, into: out)
                    if pass == 0 {
                        statistics[volume, default: RunningStatistics()].add(out, count: count)
                    } else {
                        standardise(out, count: count, statistics[volume]!)
                        try emit(volume, sections, out)
                    }
                }
                if pass == 1, volumes.contains(.specimen) {
                    drawSpecimen(sections, into: out)
                    standardise(out, count: count, specimenStatistics)
                    try emit(.specimen, sections, out)
                }
                progress((pass + 1) * nz + sections.upperBound)
            }
        }
    }

    /// The filtered images of every tilt, ready to back-project (tilt after tilt, rows × width
    /// each, in stack order): the signal and the two frame halves' noise, all on one scale per tilt.
    public final class TiltImages {
        public let signal: UnsafeMutablePointer<Float>
        public let noise: [UnsafeMutablePointer<Float>]

        init(values: Int) {
            signal = .allocate(capacity: values)
            signal.update(repeating: 0, count: values)
            noise = [.allocate(capacity: values), .allocate(capacity: values)]
        }

        deinit {
            signal.deallocate()
            noise.forEach { $0.deallocate() }
        }
    }

    /// Projects the specimen slab by slab (`specimen(sections, values)` sees each slab) and images
    /// every tilt: steps 1 and 2 of the phantom.
    public func tiltImages(specimen: (Range<Int>, UnsafePointer<Float>) -> Void = { _, _ in }) throws -> TiltImages {
        let (nx, ny, nz) = (info.size.x, info.size.y, info.size.z)
        let depth = TiltSeriesPhantom.slabSections
        let images = TiltImages(values: settings.scheme.angles.count * ny * nx)
        let slab = UnsafeMutablePointer<Float>.allocate(capacity: depth * ny * nx)
        defer { slab.deallocate() }
        for z0 in stride(from: 0, to: nz, by: depth) {
            let sections = z0..<min(nz, z0 + depth)
            drawSpecimen(sections, into: slab)
            specimen(sections, slab)
            beam.project(sections: sections, values: slab, into: images.signal)
        }
        try imageTilts(signal: images.signal, noise: images.noise)
        return images
    }

    /// Sections `sections` of the specimen: the cell's density in the ice, negated (dark protein).
    private func drawSpecimen(_ sections: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let (nx, ny) = (info.size.x, info.size.y)
        let features = scene.features(overlapping: sections)
        Parallel.forEachChunk(sections.count) { range in
            for j in range {
                let plane = out + j * ny * nx
                plane.update(repeating: 0, count: ny * nx)
                for feature in features { feature.draw(section: sections.lowerBound + j, into: plane, nx: nx, ny: ny, rowStride: nx) }
                let ice = -scene.ice(sections.lowerBound + j)
                for i in 0..<(ny * nx) { plane[i] *= ice }
            }
        }
    }

    /// Sums the back-projected components (`p`: signal, first and second noise half, each from
    /// the even then the odd tilts) into `mixture`'s volume.
    private func combine(_ mixture: Volume.Mixture, _ p: [UnsafeMutablePointer<Float>], count: Int, into out: UnsafeMutablePointer<Float>) {
        let w = mixture.weights, e = mixture.even, o = mixture.odd
        Parallel.forEachChunk(count, minimumChunk: 1 << 15) { range in
            for i in range {
                let s = e * p[0][i] + o * p[1][i], a = e * p[2][i] + o * p[3][i], b = e * p[4][i] + o * p[5][i]
                out[i] = w.x * s + w.y * a + w.z * b
            }
        }
    }

    private func standardise(_ values: UnsafeMutablePointer<Float>, count: Int, _ statistics: RunningStatistics) {
        let mean = Float(statistics.mean)
        let scale = statistics.standardDeviation > 0 ? Float(1 / statistics.standardDeviation) : 1
        Parallel.forEachChunk(count, minimumChunk: 1 << 15) { range in
            for i in range { values[i] = (values[i] - mean) * scale }
        }
    }

    /// Random streams of the two frame halves' noise and of the alignment shifts.
    static let noiseStreams: [UInt64] = [0x7117_A, 0x7117_B]
    static let shiftStream: UInt64 = 0x7117_5

    /// Turns the projections in `signal` into filtered images, and fills `noise` with the two
    /// frame halves' filtered noise, tilt by tilt, in contrast units scaled by one factor per tilt.
    private func imageTilts(signal: UnsafeMutablePointer<Float>, noise: [UnsafeMutablePointer<Float>]) throws {
        let p = settings.phantom
        let (nx, ny) = (p.size.x, p.size.y)
        let half = nx / 2 + 1, stride = 2 * half, image = ny * nx
        let buffer = FFTW.Buffer(floats: ny * stride)
        let data = buffer.pointer
        let what = "a \(nx)×\(ny) FFT for the tilt images"
        let forward = try FFTW.plan(threads: Parallel.threads, rigor: .estimate, values: ny * nx, what: what) { flags in
            fftwf_plan_dft_r2c_2d(Int32(ny), Int32(nx), data, data.complex, flags)
        }
        let backward = try FFTW.plan(threads: Parallel.threads, rigor: .estimate, values: ny * nx, what: what) { flags in
            fftwf_plan_dft_c2r_2d(Int32(ny), Int32(nx), data.complex, data, flags)
        }
        let a = p.voxelSize, norm = Float(1 / Double(ny * nx))
        let radial = (0..<half).map { radialWeight(Double($0) / Double(nx), first: 1 / Double(nx)) }
        let ky2 = (0..<ny).map { pow(FourierGrid.frequency($0, ny, a), 2) }
        let kx2 = (0..<half).map { pow(Double($0) / (Double(nx) * a), 2) }
        let phase = 2 * settings.phasePerAngstrom * a    // image contrast per unit of projected density
        let counts = self.counts, prior = settings.scheme.priorDose, dose = settings.scheme.dosePerTilt

        /// Runs the 2-D FFT of `source` with `gain(row, column)` and writes the result (scaled) to `target`.
        func filter(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, scale: Float, gain: (Int, Int) -> Float) {
            for y in 0..<ny { (data + y * stride).update(from: source + y * nx, count: nx) }
            fftwf_execute(forward.pointer)
            let spectrum = data.complex
            for y in 0..<ny {
                for i in 0..<half {
                    let h = gain(y, i) * norm * scale
                    spectrum[y * half + i].0 *= h
                    spectrum[y * half + i].1 *= h
                }
            }
            fftwf_execute(backward.pointer)
            for y in 0..<ny { (target + y * nx).update(from: data + y * stride, count: nx) }
        }

        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: image)
        let raw = UnsafeMutablePointer<Float>.allocate(capacity: image)
        defer {
            scratch.deallocate()
            raw.deallocate()
        }
        for t in 0..<counts.count {
            let exposure = prior[t] + dose / 2
            let tiltSignal = signal + t * image
            // The image's contrast: CTF, envelope and exposure filter on the projected density.
            // (The projections are of the specimen, the negated density: hence −phase.)
            filter(tiltSignal, into: scratch, scale: Float(-phase)) { y, i in
                let k2 = kx2[i] + ky2[y]
                return imaging.transfer(k2) * Float(exposureFilter(k2: k2, dose: exposure))
            }
            // One scale per tilt, the image's expected standard deviation (as reconstruct.py
            // standardises each tilt).
            var power = 0.0
            for i in 0..<image { power += Double(scratch[i]) * Double(scratch[i]) }
            let noiseVariance = 1 / counts[t]
            let scale = Float(1 / (power / Double(image) + noiseVariance).squareRoot())
            filter(scratch, into: tiltSignal, scale: scale) { _, i in radial[i] }
            // Each frame half holds half the electrons: noise of variance 1/(2N) in contrast
            // units of the full dose; the halves' sum is the full image's noise.
            let sigma = Float((noiseVariance / 2).squareRoot())
            for (h, target) in noise.enumerated() {
                let random = RandomStream(seed: p.seed, stream: TiltSeriesPhantom.noiseStreams[h])
                Parallel.forEachChunk(ny, minimumChunk: 16) { rows in
                    for y in rows {
                        PhantomGenerator.gaussianRow(random, first: (t * ny + y) * nx, count: nx, scale: sigma, into: raw + y * nx, add: false)
                    }
                }
                align(raw, tilt: t, into: scratch)
                filter(scratch, into: target + t * image, scale: scale) { _, i in radial[i] }
            }
        }
    }

    /// The filter along X before back-projection at `f` cycles/voxel (`first`: the lowest
    /// nonzero frequency, whose quarter stands in at f = 0 as in reconstruct.py).
    func radialWeight(_ f: Double, first: Double) -> Float {
        let (cut, fall) = (settings.radialCutoff, settings.radialFalloff)
        guard f > 0 else { return Float(0.25 * first) }
        var w = f * (f <= cut ? 1 : exp(-(f - cut) * (f - cut) / (2 * fall * fall)))
        if settings.reconstruction == .sirtLike {
            // n Landweber (SIRT) iterations leave 1 − (1 − f₁/f)ⁿ of the exact inverse.
            w *= 1 - pow(1 - min(1, first / f), Double(settings.sirtIterations))
        }
        return Float(w)
    }

    /// Grant & Grigorieff's (2015) amplitude attenuation at k² (Å⁻²) after `dose` e/Å².
    func exposureFilter(k2: Double, dose: Double) -> Double {
        guard k2 > 0 else { return 1 }
        let critical = 0.245 * pow(k2, -1.665 / 2) + 2.81
        return exp(-dose / (2 * critical))
    }

    /// Resamples a raw image as alignment does: rotated about its centre by the tilt axis' angle
    /// and shifted by a random fraction of a voxel, with linear interpolation (edges repeated).
    private func align(_ raw: UnsafeMutablePointer<Float>, tilt t: Int, into out: UnsafeMutablePointer<Float>) {
        let (nx, ny) = (info.size.x, info.size.y)
        let angle = settings.axisAngle * Double.pi / 180
        let (c, s) = (Float(cos(angle)), Float(sin(angle)))
        let random = RandomStream(seed: settings.phantom.seed, stream: TiltSeriesPhantom.shiftStream)
        let (dx, dy) = (random.uniform(UInt64(2 * t)), random.uniform(UInt64(2 * t + 1)))
        let (cx, cy) = (Float(nx - 1) / 2, Float(ny - 1) / 2)
        Parallel.forEachChunk(ny, minimumChunk: 16) { rows in
            for y in rows {
                let yc = Float(y) - cy
                for x in 0..<nx {
                    let xc = Float(x) - cx
                    let u = min(max(c * xc - s * yc + cx + dx, 0), Float(nx - 1))
                    let v = min(max(s * xc + c * yc + cy + dy, 0), Float(ny - 1))
                    let (u0, v0) = (min(Int(u), max(0, nx - 2)), min(Int(v), max(0, ny - 2)))
                    let (fu, fv) = (u - Float(u0), v - Float(v0))
                    let (u1, v1) = (min(u0 + 1, nx - 1), min(v0 + 1, ny - 1))
                    let top = raw[v0 * nx + u0] * (1 - fu) + raw[v0 * nx + u1] * fu
                    let bottom = raw[v1 * nx + u0] * (1 - fu) + raw[v1 * nx + u1] * fu
                    out[y * nx + x] = top * (1 - fv) + bottom * fv
                }
            }
        }
    }
}
