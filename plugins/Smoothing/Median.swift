import FilterKit

/// `median`: the median of each voxel's 3×3×3 or 5×5×5 neighbourhood.
public enum MedianFactory: StageFactory {
    public static let name = "median"
    public static let summary = "median of the 3³ or 5³ neighbourhood (removes salt-and-pepper outliers)"
    public static let discussion = """
        Exact median of size³ voxels around each voxel (the 14th of 27, or the 63rd of 125).
        Example: stdio-filter median --size 5 in.mrc out.mrc
        """
    public static let parameters = [
        StageParameter("size", .choice(["3", "5"]), default: "3", unit: "voxels", help: "neighbourhood edge length"),
        boundaryParameter,
    ]

    public static func make(_ p: StageParameters) throws -> any Stage {
        MedianStage(size: Int(try p.choice("size"))!, boundary: BoundaryMode(rawValue: try p.choice("boundary"))!)
    }
}

/// Exact median filter over a cubic neighbourhood.
public final class MedianStage: HaloStage {
    public let name = "median"
    /// Any X-Y part of the output comes from its input box alone: runs on bricks.
    public var supportsBricks: Bool { true }
    public let boundary: BoundaryMode
    public let size: Int
    public var halo: SIMD3<Int> { SIMD3(repeating: size / 2) }

    public init(size: Int, boundary: BoundaryMode = .nearest) {
        self.size = size
        self.boundary = boundary
    }

    public func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        var info = input
        info.elementType = .float32
        return info
    }

    public func process(_ input: InputRegion, into output: OutputRegion) throws {
        let width = input.box.size.x
        let nx = output.box.size.x, ny = output.box.size.y, nt = output.box.size.z
        let s = size, count = s * s * s, middle = count / 2
        Parallel.forEachChunk(nt * ny, minimumChunk: 8) { rows in
            let window = UnsafeMutablePointer<Float>.allocate(capacity: count)
            defer { window.deallocate() }
            for r in rows {
                let t = r / ny, y = r % ny
                let out = output.data + r * nx
                for x in 0..<nx {
                    var n = 0
                    for dz in 0..<s {
                        let p = input.plane(t + dz)
                        for dy in 0..<s {
                            let row = p + (y + dy) * width + x
                            for dx in 0..<s {
                                window[n] = row[dx]
                                n &+= 1
                            }
                        }
                    }
                    out[x] = select(window, count: count, k: middle)
                }
            }
        }
    }
}

/// The `k`-th smallest of `count` values (Hoare's quickselect; reorders `values`).
@inline(__always)
func select(_ values: UnsafeMutablePointer<Float>, count: Int, k: Int) -> Float {
    var lo = 0, hi = count - 1
    while lo < hi {
        let pivot = values[(lo + hi) >> 1]
        var i = lo, j = hi
        while i <= j {
            while values[i] < pivot { i &+= 1 }
            while values[j] > pivot { j &-= 1 }
            if i <= j {
                values.swapAt(i, j)
                i &+= 1
                j &-= 1
            }
        }
        if k <= j { hi = j } else if k >= i { lo = i } else { return values[k] }
    }
    return values[k]
}

extension UnsafeMutablePointer {
    @inline(__always)
    func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}
