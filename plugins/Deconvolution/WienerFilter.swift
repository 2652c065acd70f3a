import FilterKit
#if canImport(Glibc)
import Glibc
#endif

/// The microscope and filter settings of a CTF deconvolution, with IsoNet's names and units.
public struct DeconvolutionSettings: Sendable, Equatable {
    /// How `deconvstrength` scales the SNR: IsoNet's 10^s, or tom_deconv.m/Warp/IMOD's 10^(3s).
    public enum StrengthScale: String, Sendable, CaseIterable {
        case isonet, tegunov
    }

    /// Pixel size, Å.
    public var angpix: Double
    /// Defocus, µm, underfocus positive.
    public var defocus: Double
    public var snrfalloff: Double = 1
    public var deconvstrength: Double = 1
    /// High-pass edge as a fraction of Nyquist.
    public var highpassnyquist: Double = 0.02
    /// Accelerating voltage, kV.
    public var voltage: Double = 300
    /// Spherical aberration, mm.
    public var cs: Double = 2.7
    /// Amplitude contrast (IsoNet and tom_deconv fix it at 0.07).
    public var ampcon: Double = 0.07
    /// The data were phase-flipped: the filter uses |CTF|.
    public var phaseflipped = false
    /// Phase-plate phase shift, degrees.
    public var phaseshift: Double = 0
    public var strengthScale: StrengthScale = .isonet
    /// Added to the SNR so that W(0) is finite (IsoNet: 1e-6).
    public var epsilon: Double = 1e-6

    public init(angpix: Double, defocus: Double) {
        self.angpix = angpix
        self.defocus = defocus
    }
}

/// The 1-D Wiener-like filter of tom_deconv/IsoNet, tabulated on 2048 points of the radius
/// r ∈ [0, 1] (fraction of Nyquist) and linearly interpolated, as IsoNet does.
///
/// W(r) = ctf / (ctf² + 1/snr) with snr(r) = exp(−r·snrfalloff·100/angpix)·10^s·hp(r) + ε and the
/// raised-cosine high-pass hp(r) = 1 − cos(π·min(1, r/highpassnyquist)) ∈ [0, 2]. The CTF column
/// is evaluated at k_i = i / (2·2048·angpix) Å⁻¹, tom_ctf1d's sampling (r·2047/2048 of Nyquist).
public struct WienerTable: Sendable {
    public static let count = 2048
    /// CTF at the table's radii (|CTF| when phase-flipped).
    public let ctf: [Double]
    /// W at the table's radii.
    public let values: [Double]

    public init(_ s: DeconvolutionSettings) {
        let n = WienerTable.count
        let lambda = ElectronOptics.wavelength(kilovolts: s.voltage)  // Å
        let cs = s.cs * 1e7, dz = s.defocus * 1e4  // Å
        let phase = s.phaseshift * Double.pi / 180
        let exponent = s.strengthScale == .isonet ? s.deconvstrength : 3 * s.deconvstrength
        let scale = pow(10, exponent)
        var ctf = [Double](repeating: 0, count: n)
        var values = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let r = Double(i) / Double(n - 1)
            let hp = s.highpassnyquist > 0 ? 1 - cos(Double.pi * min(1, r / s.highpassnyquist)) : 2
            let snr = exp(-r * s.snrfalloff * 100 / s.angpix) * scale * hp + s.epsilon
            let k = Double(i) / (2 * Double(n) * s.angpix)
            let k2 = k * k
            var c = ElectronOptics.ctf(k2: k2, wavelength: lambda, defocus: dz, sphericalAberration: cs, amplitudeContrast: s.ampcon, phaseShift: phase)
            if s.phaseflipped { c = abs(c) }
            ctf[i] = c
            values[i] = c / (c * c + 1 / snr)
        }
        self.ctf = ctf
        self.values = values
    }

    /// W at radius `r` (clamped to [0, 1]), linearly interpolated like `np.interp`.
    @inlinable
    public func value(at r: Double) -> Double { WienerTable.interpolate(values, at: r) }

    /// The CTF at radius `r`, linearly interpolated.
    public func ctf(at r: Double) -> Double { WienerTable.interpolate(ctf, at: r) }

    @inlinable
    static func interpolate(_ table: [Double], at r: Double) -> Double {
        table.withUnsafeBufferPointer { interpolate($0.baseAddress!, at: r) }
    }

    /// Linear interpolation in a table of ``count`` values at r_i = i/(count − 1).
    @inlinable @inline(__always)
    static func interpolate(_ table: UnsafePointer<Double>, at r: Double) -> Double {
        let position = max(0, min(1, r)) * Double(count - 1)
        let i = min(Int(position), count - 2)
        let f = position - Double(i)
        return table[i] + (table[i &+ 1] - table[i]) * f
    }
}

/// The normalised radius of every point of a real-to-complex 3-D spectrum (X halved), as IsoNet
/// builds it: per axis the signed FFT index over max(1, ⌊n/2⌋), r = min(1, √(fx² + fy² + fz²)).
struct SpectrumRadius {
    /// Complex points along X: nx/2 + 1.
    let halfX: Int
    /// fx² per X index, fy² per Y index, fz² per Z index.
    let fx2: [Double], fy2: [Double], fz2: [Double]

    init(_ size: Size3) {
        halfX = size.x / 2 + 1
        fx2 = (0..<halfX).map { let f = Double($0) / Double(max(1, size.x / 2)); return f * f }
        fy2 = SpectrumRadius.squaredFrequencies(size.y)
        fz2 = SpectrumRadius.squaredFrequencies(size.z)
    }

    static func squaredFrequencies(_ n: Int) -> [Double] {
        (0..<n).map { j in
            let signed = j <= (n - 1) / 2 ? j : j - n
            let f = Double(signed) / Double(max(1, n / 2))
            return f * f
        }
    }

    /// Multiplies one spectrum row (kz, ky; `halfX` interleaved complex values) by W(r)·`scale`,
    /// and returns Σ w_kx·|result|² over the row (w = 1 for kx = 0 and the Nyquist column of an
    /// even nx, else 2: the row's share of Σ|G|² over the full spectrum, for Parseval).
    @inline(__always)
    func filterRow(_ row: UnsafeMutablePointer<Float>, kz: Int, ky: Int, table: UnsafePointer<Double>, scale: Double, evenX: Bool) -> Double {
        let base = fz2[kz] + fy2[ky]
        var energy = 0.0
        fx2.withUnsafeBufferPointer { fx2 in
            for kx in 0..<halfX {
                let w = Float(WienerTable.interpolate(table, at: (base + fx2[kx]).squareRoot()) * scale)
                let re = row[2 &* kx] * w, im = row[2 &* kx &+ 1] * w
                row[2 &* kx] = re
                row[2 &* kx &+ 1] = im
                let weight: Double = kx == 0 || (evenX && kx == halfX - 1) ? 1 : 2
                energy += weight * (Double(re) * Double(re) + Double(im) * Double(im))
            }
        }
        return energy
    }
}
