import CFFTW
import FFTSupport
import FilterKit
#if canImport(Glibc)
import Glibc
#endif

/// How close a denoised volume is to the clean ground truth, with the definitions of
/// `../shared/tools/metrics.py` (so numbers compare with published baselines):
///
/// - `psnr`: 10 log₁₀(R² / MSE), R = max(clean) − min(clean); `psnr_affine` after the
///   least-squares fit a·denoised + b ≈ clean (insensitive to scale and offset).
/// - `ssim`, `ssim_affine`: 3-D SSIM, 7³ uniform window, sample covariance, K₁ 0.01, K₂ 0.03,
///   averaged over the voxels whose window fits (scikit-image's `structural_similarity`).
/// - `pearson`: the correlation coefficient.
/// - `fsc05_A`, `fsc0143_A`: the resolution where the Fourier shell correlation first falls
///   below 0.5 / 0.143, both volumes mean-subtracted under a soft box mask.
public struct QualityScore: Sendable {
    public var psnr = 0.0, psnrAffine = 0.0, affineA = 0.0, affineB = 0.0, pearson = 0.0
    public var ssim: Double?, ssimAffine: Double?
    public var fsc05: Double = 0, fsc05Reached = false, fsc0143: Double = 0, fsc0143Reached = false

    /// Voxels from each face where the FSC mask weighs 0.5 (at most a fifth of the side).
    static let maskInset = 18.0

    /// Scores `denoised` against `clean` (same shape, X fastest), voxel size `angpix` Å.
    public init(clean: [Float], denoised: [Float], size: Size3, angpix: Double, withSSIM: Bool = true) throws {
        precondition(clean.count == size.voxelCount && denoised.count == size.voxelCount)
        let n = Double(clean.count)
        var (cMin, cMax) = (Float.infinity, -Float.infinity)
        var (sc, sd) = (0.0, 0.0)
        for i in 0..<clean.count {
            cMin = min(cMin, clean[i]); cMax = max(cMax, clean[i])
            sc += Double(clean[i]); sd += Double(denoised[i])
        }
        let (cm, dm) = (sc / n, sd / n)
        var (vdd, vcc, vdc, mse) = (0.0, 0.0, 0.0, 0.0)
        for i in 0..<clean.count {
            let c = Double(clean[i]), d = Double(denoised[i])
            vdd += (d - dm) * (d - dm); vcc += (c - cm) * (c - cm); vdc += (d - dm) * (c - cm)
            mse += (d - c) * (d - c)
        }
        let range = Double(cMax) - Double(cMin)
        affineA = vdd > 0 ? vdc / vdd : 0
        affineB = cm - affineA * dm
        // MSE of the fit: mean((a(d − dm) − (c − cm))²), from the moments above.
        let mseFit = max(0, (affineA * affineA * vdd - 2 * affineA * vdc + vcc) / n)
        psnr = QualityScore.psnr(mse / n, range)
        psnrAffine = QualityScore.psnr(mseFit, range)
        pearson = vdd > 0 && vcc > 0 ? vdc / (vdd * vcc).squareRoot() : 0
        if withSSIM {
            ssim = StructuralSimilarity.mean(clean, denoised, size: size, range: range, a: 1, b: 0)
            ssimAffine = StructuralSimilarity.mean(clean, denoised, size: size, range: range, a: affineA, b: affineB)
        }
        let curve = try QualityScore.fourierShellCorrelation(denoised, clean, size: size, angpix: angpix)
        (fsc05, fsc05Reached) = QualityScore.crossing(curve, threshold: 0.5, angpix: angpix)
        (fsc0143, fsc0143Reached) = QualityScore.crossing(curve, threshold: 0.143, angpix: angpix)
    }

    static func psnr(_ mse: Double, _ range: Double) -> Double {
        mse > 0 ? 10 * log10(range * range / mse) : .infinity
    }

    /// The correlation coefficient of two equally long arrays (0 when either is constant).
    public static func correlation(_ a: [Double], _ b: [Float]) -> Double {
        let n = Double(a.count)
        let am = a.reduce(0, +) / n, bm = b.reduce(0.0) { $0 + Double($1) } / n
        var (vaa, vbb, vab) = (0.0, 0.0, 0.0)
        for i in a.indices {
            let x = a[i] - am, y = Double(b[i]) - bm
            vaa += x * x; vbb += y * y; vab += x * y
        }
        return vaa > 0 && vbb > 0 ? vab / (vaa * vbb).squareRoot() : 0
    }

    /// The soft box mask along one axis of `n` voxels: erf edges of σ = inset/3, 0.5 at the inset.
    static func edgeWindow(_ n: Int) -> [Double] {
        let inset = min(maskInset, Double(n) / 5), sigma = max(inset / 3, 1e-3)
        return (0..<n).map { i in
            let x = Double(i) + 0.5
            return 0.5 * (erf((x - inset) / (2.0.squareRoot() * sigma)) - erf((x - (Double(n) - inset)) / (2.0.squareRoot() * sigma)))
        }
    }

    /// FSC per shell of width 1/(max side · angpix), from 0 to Nyquist: (frequency Å⁻¹, FSC).
    public static func fourierShellCorrelation(_ a: [Float], _ b: [Float], size: Size3, angpix: Double) throws -> [(Double, Double)] {
        let (nx, ny, nz) = (size.x, size.y, size.z)
        let half = nx / 2 + 1
        let wx = edgeWindow(nx), wy = edgeWindow(ny), wz = edgeWindow(nz)
        func transform(_ v: [Float]) throws -> FFTW.Buffer {
            let mean = v.reduce(0.0) { $0 + Double($1) } / Double(v.count)
            let real = FFTW.Buffer(floats: v.count), spectrum = FFTW.Buffer(floats: 2 * nz * ny * half)
            let plan = try FFTW.plan(threads: Parallel.threads, rigor: .estimate, values: v.count, what: "a \(size) FFT for the FSC") { flags in
                fftwf_plan_dft_r2c_3d(Int32(nz), Int32(ny), Int32(nx), real.pointer, spectrum.pointer.complex, flags)
            }
            for z in 0..<nz {
                for y in 0..<ny {
                    for x in 0..<nx {
                        let i = (z * ny + y) * nx + x
                        real.pointer[i] = Float((Double(v[i]) - mean) * wz[z] * wy[y] * wx[x])
                    }
                }
            }
            fftwf_execute(plan.pointer)
            return spectrum
        }
        let fa = try transform(a), fb = try transform(b)
        let dk = 1 / (Double(max(nx, ny, nz)) * angpix)
        let shells = Int((0.5 / angpix / dk).rounded()) + 1
        var num = [Double](repeating: 0, count: shells), pa = num, pb = num
        for z in 0..<nz {
            let kz = FourierGrid.frequency(z, nz, angpix)
            for y in 0..<ny {
                let ky = FourierGrid.frequency(y, ny, angpix)
                for x in 0..<half {
                    let kx = Double(x) / (Double(nx) * angpix)
                    let shell = Int(((kx * kx + ky * ky + kz * kz).squareRoot() / dk).rounded(.toNearestOrEven))
                    guard shell < shells else { continue }
                    let w = x == 0 || (nx % 2 == 0 && x == nx / 2) ? 1.0 : 2.0
                    let i = 2 * ((z * ny + y) * half + x)
                    let (ar, ai, br, bi) = (Double(fa.pointer[i]), Double(fa.pointer[i + 1]), Double(fb.pointer[i]), Double(fb.pointer[i + 1]))
                    num[shell] += w * (ar * br + ai * bi)
                    pa[shell] += w * (ar * ar + ai * ai)
                    pb[shell] += w * (br * br + bi * bi)
                }
            }
        }
        return (0..<shells).map { s in
            let d = (pa[s] * pb[s]).squareRoot()
            return (Double(s) * dk, d > 0 ? num[s] / d : 0)
        }
    }

    /// The resolution (Å) where `curve` first falls below `threshold` (linear between shells),
    /// or Nyquist and false when it never does.
    static func crossing(_ curve: [(Double, Double)], threshold: Double, angpix: Double) -> (Double, Bool) {
        for i in 1..<max(1, curve.count) where curve[i].1 < threshold {
            let (f0, c0) = curve[i - 1], (f1, c1) = curve[i]
            let f = c0 != c1 ? f0 + (c0 - threshold) / (c0 - c1) * (f1 - f0) : f1
            return (f > 0 ? 1 / f : .infinity, true)
        }
        return (2 * angpix, false)
    }
}

/// 3-D SSIM as scikit-image computes it with its defaults.
enum StructuralSimilarity {
    static let window = 7

    /// The five moments a window needs of the voxel pair (u, v): u, v, u², v², uv.
    @inline(__always)
    private static func moments(_ u: Double, _ v: Double) -> SIMD8<Double> {
        SIMD8(u, v, u * u, v * v, u * v, 0, 0, 0)
    }

    /// Mean SSIM of `first` and `a·second + b`, over voxels whose 7³ window lies inside the
    /// volume, computed section by section with a ring of per-section window sums.
    static func mean(_ first: [Float], _ second: [Float], size: Size3, range: Double, a: Double, b: Double) -> Double {
        let (nx, ny, nz) = (size.x, size.y, size.z), w = window
        guard nx >= w, ny >= w, nz >= w else { return .nan }
        let (ox, oy) = (nx - w + 1, ny - w + 1)
        let planeCount = ox * oy
        // Window sums over XY of the last `w` sections, and sums along X of one section's rows.
        var ring = [[SIMD8<Double>]](repeating: [SIMD8<Double>](repeating: .zero, count: planeCount), count: w)
        var rowSums = [SIMD8<Double>](repeating: .zero, count: ox * ny)
        let n = Double(w * w * w), covarianceNorm = n / (n - 1)
        let c1 = (0.01 * range) * (0.01 * range), c2 = (0.03 * range) * (0.03 * range)
        var total = 0.0
        for z in 0..<nz {
            for yy in 0..<ny {
                let base = (z * ny + yy) * nx
                var s = SIMD8<Double>.zero
                for xx in 0..<nx {
                    s += moments(Double(first[base + xx]), a * Double(second[base + xx]) + b)
                    if xx >= w { s -= moments(Double(first[base + xx - w]), a * Double(second[base + xx - w]) + b) }
                    if xx >= w - 1 { rowSums[yy * ox + xx - w + 1] = s }
                }
            }
            let slot = z % w
            for xx in 0..<ox {
                var s = SIMD8<Double>.zero
                for yy in 0..<ny {
                    s += rowSums[yy * ox + xx]
                    if yy >= w { s -= rowSums[(yy - w) * ox + xx] }
                    if yy >= w - 1 { ring[slot][(yy - w + 1) * ox + xx] = s }
                }
            }
            guard z >= w - 1 else { continue }
            for i in 0..<planeCount {
                var m = SIMD8<Double>.zero
                for k in 0..<w { m += ring[k][i] }
                m /= n
                let (ux, uy) = (m[0], m[1])
                let vx = covarianceNorm * (m[2] - ux * ux), vy = covarianceNorm * (m[3] - uy * uy)
                let vxy = covarianceNorm * (m[4] - ux * uy)
                total += ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
            }
        }
        return total / Double(planeCount * (nz - w + 1))
    }
}
