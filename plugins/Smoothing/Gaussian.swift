import FilterKit
#if canImport(Glibc)
import Glibc
#endif

/// `gaussian`: separable Gaussian smoothing with σ per axis, like `scipy.ndimage.gaussian_filter`.
public enum GaussianFactory: StageFactory {
    public static let name = "gaussian"
    public static let summary = "Gaussian smoothing, σ per axis (separable)"
    public static let discussion = """
        The kernel is exp(−x²/2σ²) normalised to 1, cut at truncate·σ voxels (as SciPy's
        gaussian_filter), applied along Z, then Y, then X. σ = 0 leaves an axis unchanged.
        Example: stdio-filter gaussian --sigma 2x2x1 in.mrc out.mrc
        """
    public static let parameters = [
        StageParameter("sigma", .perAxis(0...256), default: "1", unit: "voxels", help: "standard deviation: one value, or X×Y×Z such as 2x2x1"),
        StageParameter("truncate", .number(0.5...10), default: "4", unit: "σ", help: "kernel radius in standard deviations"),
        boundaryParameter,
    ]

    public static func make(_ p: StageParameters) throws -> any Stage {
        GaussianStage(sigma: try p.perAxis("sigma"), truncate: try p.number("truncate"), boundary: BoundaryMode(rawValue: try p.choice("boundary"))!)
    }
}

/// Separable Gaussian smoothing; the halo is the kernel radius on each axis.
public final class GaussianStage: HaloStage {
    public let name = "gaussian"
    /// Any X-Y part of the output comes from its input box alone: runs on bricks.
    public var supportsBricks: Bool { true }
    public let boundary: BoundaryMode
    public let halo: SIMD3<Int>
    /// Kernel weights per axis (2·radius + 1 of them, summing to 1).
    public let weights: [[Float]]
    /// Intermediate results of the Z and Y passes, kept between tiles.
    private var scratch: UnsafeMutablePointer<Float>?
    private var scratchCapacity = 0

    deinit { scratch?.deallocate() }

    public init(sigma: SIMD3<Double>, truncate: Double = 4, boundary: BoundaryMode = .nearest) {
        self.boundary = boundary
        var weights: [[Float]] = []
        var halo = SIMD3<Int>.zero
        for axis in 0..<3 {
            let s = sigma[axis]
            let radius = s > 0 ? Int(truncate * s + 0.5) : 0
            halo[axis] = radius
            var w = (-radius...radius).map { k in s > 0 ? exp(-0.5 * Double(k * k) / (s * s)) : 1 }
            let total = w.reduce(0, +)
            w = w.map { $0 / total }
            weights.append(w.map(Float.init))
        }
        self.halo = halo
        self.weights = weights
    }

    public func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        var info = input
        info.elementType = .float32
        return info
    }

    public func scratchBytes(forOutput output: Box) -> Int {
        let padded = output.padded(by: SIMD3(halo.x, halo.y, 0))
        return (padded.size.voxelCount + output.size.z * output.size.y * padded.size.x) * 4
    }

    public func process(_ input: InputRegion, into output: OutputRegion) throws {
        let width = input.box.size.x, height = input.box.size.y
        let nx = output.box.size.x, ny = output.box.size.y, nt = output.box.size.z
        let plane = width * height
        // Z pass: nt planes of width × height; Y pass: nt × ny rows of width; X pass: into output.
        let needed = nt * plane + nt * ny * width
        if scratchCapacity < needed {
            scratch?.deallocate()
            scratch = .allocate(capacity: needed)
            scratchCapacity = needed
        }
        let afterZ = scratch!
        let afterY = afterZ + nt * plane
        let wz = weights[2], wy = weights[1], wx = weights[0]
        wz.withUnsafeBufferPointer { w in
            Parallel.forEachChunk(nt * height, minimumChunk: 64) { rows in
                for r in rows {
                    let t = r / height, y = r % height
                    let out = afterZ + t * plane + y * width
                    for k in 0..<w.count {
                        axpy(w[k], input.plane(t + k) + y * width, out, width, first: k == 0)
                    }
                }
            }
        }
        wy.withUnsafeBufferPointer { w in
            Parallel.forEachChunk(nt * ny, minimumChunk: 64) { rows in
                for r in rows {
                    let t = r / ny, y = r % ny
                    let out = afterY + r * width
                    for k in 0..<w.count {
                        axpy(w[k], afterZ + t * plane + (y + k) * width, out, width, first: k == 0)
                    }
                }
            }
        }
        wx.withUnsafeBufferPointer { w in
            Parallel.forEachChunk(nt * ny, minimumChunk: 64) { rows in
                for r in rows {
                    let out = output.data + r * nx
                    for k in 0..<w.count {
                        axpy(w[k], afterY + r * width + k, out, nx, first: k == 0)
                    }
                }
            }
        }
    }
}

/// `y = a·x` when `first`, else `y += a·x`, over `n` floats.
@inline(__always)
func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, first: Bool) {
    var i = 0
    if first {
        while i < n { y[i] = a * x[i]; i &+= 1 }
    } else {
        while i < n { y[i] += a * x[i]; i &+= 1 }
    }
}
