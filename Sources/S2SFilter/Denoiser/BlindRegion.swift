import FilterKit

/// The offsets whose noise is correlated with a voxel's own: a blind-spot network must not see
/// any of them when it predicts the voxel, or it learns to predict the noise from them.
///
/// Masks built from a region (``BlindCells``) hide it around every voxel the loss counts and every
/// voxel a prediction keeps, so neither sees a voxel whose correlated noise was visible:
/// J-invariance for that correlation by construction.
public struct BlindRegion: Sendable, Hashable, CustomStringConvertible {
    /// (dx, dy, dz) offsets, the centre among them, symmetric (d and −d both in or both out).
    public let offsets: [SIMD3<Int>]

    /// A region of `offsets`, made symmetric and given its centre.
    public init(offsets: [SIMD3<Int>]) {
        var set = Set(offsets.flatMap { [$0, SIMD3(0, 0, 0) &- $0] })
        set.insert(SIMD3(0, 0, 0))
        self.offsets = set.sorted { ($0.z, $0.y, $0.x) < ($1.z, $1.y, $1.x) }
    }

    /// The one-voxel region: white noise.
    public static let point = BlindRegion(offsets: [])

    /// The largest |offset| along X, Y and Z.
    public var extent: SIMD3<Int> {
        offsets.reduce(SIMD3(0, 0, 0)) { e, o in SIMD3(max(e.x, abs(o.x)), max(e.y, abs(o.y)), max(e.z, abs(o.z))) }
    }

    public var description: String {
        let e = extent
        return offsets.count == 1 ? "1 voxel" : "\(offsets.count) voxels within ±\(e.x) X, ±\(e.y) Y, ±\(e.z) Z"
    }

    // MARK: Metadata

    /// The offsets as text for a model's metadata: `dx,dy,dz;…`.
    public var metadata: String {
        offsets.map { "\($0.x),\($0.y),\($0.z)" }.joined(separator: ";")
    }

    /// The region written by ``metadata``, or nil when `text` is not one.
    public init?(metadata text: String) {
        var offsets: [SIMD3<Int>] = []
        for item in text.split(separator: ";") {
            let parts = item.split(separator: ",").compactMap { Int($0) }
            guard parts.count == 3, parts.allSatisfy({ abs($0) <= 64 }) else { return nil }
            offsets.append(SIMD3(parts[0], parts[1], parts[2]))
        }
        guard !offsets.isEmpty else { return nil }
        self.init(offsets: offsets)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Complementary masks built from a blind region: the volume is cut into cells of `cell` voxels,
/// coloured by the parity of their index along each axis (8 colours); one pass hides the cells
/// of one colour, each grown by the region. The cells' own voxels are then blind (their whole
/// region is hidden): the loss counts them when training, and prediction takes each voxel from
/// the one pass of every round in which it is blind. So 8 passes give every voxel exactly one
/// J-invariant prediction, however large the region, and an eighth of every training patch
/// counts in the loss.
public struct BlindCells: Sendable, Hashable, CustomStringConvertible {
    public let region: BlindRegion
    /// Cell sides along X, Y and Z.
    public let cell: SIMD3<Int>
    /// Passes that cover every voxel once: one per colour.
    public static let passes = 8

    public init(region: BlindRegion, cell: SIMD3<Int>) {
        self.region = region
        self.cell = SIMD3(max(1, cell.x), max(1, cell.y), max(1, cell.z))
    }

    /// Cells `factor` times the region's extent on each axis (1 where the region is flat), which
    /// hides (1/2 + 1/factor) of each axis: about 58 % of the voxels for factor 3 when the region
    /// extends along all three axes, 12.5 % for the one-voxel region.
    public init(region: BlindRegion, factor: Int) {
        let e = region.extent
        self.init(region: region, cell: SIMD3(factor * e.x, factor * e.y, factor * e.z))
    }

    public var description: String { "\(region), cells \(cell.x)×\(cell.y)×\(cell.z)" }

    /// The fraction of voxels one pass hides (counted over one period of the grid).
    public var hiddenFraction: Double {
        let period = 2 &* cell
        var hidden = [Bool](repeating: false, count: period.x * period.y * period.z)
        func wrap(_ v: Int, _ n: Int) -> Int { ((v % n) + n) % n }
        for z in 0..<cell.z { for y in 0..<cell.y { for x in 0..<cell.x {
            for o in region.offsets {
                hidden[(wrap(z + o.z, period.z) * period.y + wrap(y + o.y, period.y)) * period.x + wrap(x + o.x, period.x)] = true
            }
        } } }
        return Double(hidden.filter { $0 }.count) / Double(hidden.count)
    }

    /// Fills `mask` (1 visible, 0 hidden) of one sample for colour `pass` (0..<8), the cell grid
    /// shifted by `shift` and the sample's first voxel at `origin` in the volume; `blind` (when
    /// given) is 1 on the cells' voxels.
    func fill(_ mask: UnsafeMutablePointer<Float>, blind: UnsafeMutablePointer<Float>?, shape s: TensorShape, pass: Int, origin: SIMD3<Int>, shift: SIMD3<Int>) {
        let (d, h, w) = (s.depth, s.height, s.width)
        let colour = SIMD3(pass & 1, (pass >> 1) & 1, (pass >> 2) & 1)
        func seeds(_ axis: Int, _ n: Int) -> [Bool] {
            (0..<n).map { u in
                let q = origin[axis] + u + shift[axis], c = cell[axis]
                let index = q >= 0 ? q / c : -((-q + c - 1) / c)
                return index & 1 == colour[axis]
            }
        }
        let (sx, sy, sz) = (seeds(0, w), seeds(1, h), seeds(2, d))
        mask.update(repeating: 1, count: d * h * w)
        blind?.update(repeating: 0, count: d * h * w)
        let steps = region.offsets.map { ($0, ($0.z * h + $0.y) * w + $0.x) }
        for z in 0..<d where sz[z] {
            for y in 0..<h where sy[y] {
                for x in 0..<w where sx[x] {
                    let i = (z * h + y) * w + x
                    blind?[i] = 1
                    for (o, step) in steps {
                        let (oz, oy, ox) = (z + o.z, y + o.y, x + o.x)
                        if oz >= 0, oz < d, oy >= 0, oy < h, ox >= 0, ox < w { mask[i + step] = 0 }
                    }
                }
            }
        }
    }
}
