import FilterKit

/// Cubic patches at positions drawn up front from a seed, filled as the volume's sections pass
/// (the prepass of `s2s` and `noise`): the training data and the noise estimate's sample.
public struct PatchSampler {
    /// The patch side.
    public let side: Int
    public private(set) var origins: [SIMD3<Int>] = []
    public private(set) var patches: [[Float]] = []
    private var sectionsSeen = 0

    /// `count` patches of `side`³ inside a volume of `size`, positions from `seed`.
    public init(count: Int, side: Int, volume size: Size3, seed: UInt64) {
        self.side = side
        let r = RandomStream(seed: seed, stream: 0x9A7C)
        func coordinate(_ i: Int, _ axis: Int, _ n: Int) -> Int {
            Int(r.bits(UInt64(3 * i + axis)) % UInt64(n - side + 1))
        }
        origins = (0..<count).map { i -> SIMD3<Int> in
            SIMD3(coordinate(i, 0, size.x), coordinate(i, 1, size.y), coordinate(i, 2, size.z))
        }
        patches = Array(repeating: [Float](repeating: 0, count: side * side * side), count: count)
    }

    /// Copies what the patches hold of the next `count` whole sections of a volume of `size`.
    public mutating func add(sections: UnsafePointer<Float>, count: Int, size: Size3) {
        let p = side, n = size.sectionVoxels
        for k in 0..<count {
            let z = sectionsSeen + k
            let plane = sections + k * n
            for (index, origin) in origins.enumerated() where z >= origin.z && z < origin.z + p {
                let dz = z - origin.z
                patches[index].withUnsafeMutableBufferPointer { patch in
                    for y in 0..<p {
                        (patch.baseAddress! + (dz * p + y) * p).update(from: plane + (origin.y + y) * size.x + origin.x, count: p)
                    }
                }
            }
        }
        sectionsSeen += count
    }

    /// Standardises every patch: (v − mean) / std.
    public mutating func standardise(mean: Float, standardDeviation std: Float) {
        for i in patches.indices { patches[i] = patches[i].map { ($0 - mean) / std } }
    }
}

/// A flip on any axis and a rotation by a multiple of 90° in XY of a cubic patch, chosen by the
/// low bits of a random `code`. Training applies the same augmentation to a patch and to its
/// mask, so a blind region measured in the volume's frame stays aligned with the noise it hides.
struct PatchAugmentation {
    let flipZ: Bool, flipY: Bool, flipX: Bool
    let quarterTurns: Int

    init(code: UInt64) {
        (flipZ, flipY, flipX, quarterTurns) = (code & 1 == 1, code & 2 == 2, code & 4 == 4, Int((code >> 3) & 3))
    }

    /// Writes the augmented copy of the `side`³ cube at `source` to `out`: out(v) = source(T(v)).
    func apply(_ source: UnsafePointer<Float>, side p: Int, into out: UnsafeMutablePointer<Float>) {
        for z in 0..<p {
            for y in 0..<p {
                for x in 0..<p {
                    var (sy, sx) = (y, x)
                    for _ in 0..<quarterTurns { (sy, sx) = (sx, p - 1 - sy) }
                    let sz = flipZ ? p - 1 - z : z
                    sy = flipY ? p - 1 - sy : sy
                    sx = flipX ? p - 1 - sx : sx
                    out[(z * p + y) * p + x] = source[(sz * p + sy) * p + sx]
                }
            }
        }
    }
}
