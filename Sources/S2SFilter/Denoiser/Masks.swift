import FilterKit

/// How Self2Self hides voxels from the network during training and prediction, and which hidden
/// voxels the loss counts.
///
/// Reconstruction noise is correlated with its neighbours (along X from ramp filtering, along Z and
/// Y on real tomograms), so a hidden voxel whose correlated neighbour stays visible lets the network
/// predict its noise. `cells` masks hide the measured correlated neighbourhood
/// (``NoiseCorrelation``, ``BlindRegion``, ``BlindCells``) around every voxel they count; the `xline` mask hides runs of voxels along X and counts only each run's centre (enough
/// for noise correlated along X alone).
public enum MaskKind: Sendable, Equatable, CustomStringConvertible {
    /// Complementary cell masks grown by a blind region (``BlindCells``): training draws a random
    /// colour and grid shift per sample, prediction runs the 8 colours.
    case cells(BlindCells)
    /// Each voxel hidden with the given rate (the original Self2Self).
    case point
    /// Cubes of `edge` voxels hidden together (on a grid with a random offset).
    case block(edge: Int)
    /// Runs of `length` voxels along X hidden together; the loss counts their centres.
    case xline(length: Int)
    /// Each batch item (and each prediction sample) drawn at random as `point` or `block(edge)`.
    case mixed(edge: Int)

    public var description: String {
        switch self {
        case .point: return "point"
        case let .block(edge): return "block\(edge)"
        case let .xline(length): return "xline\(length)"
        case let .mixed(edge): return "mixed(point, block\(edge))"
        case let .cells(cells): return "cells(\(cells))"
        }
    }

    /// Fills `mask` (1 visible, 0 hidden) and, when given, `lossWeight` (1 where the loss counts),
    /// hiding about `rate` of the voxels; draws come from `stream` only.
    public func fill(_ mask: Tensor, lossWeight: Tensor?, rate: Float, stream: RandomStream) {
        let s = mask.shape
        let (m, w) = (mask.data, lossWeight?.data)
        switch self {
        case let .cells(cells):
            let item = s.voxelsPerSample
            for n in 0..<s.batch {
                let draw = stream.child(UInt64(n))
                let shift = SIMD3((0..<3).map { Int(draw.bits(UInt64($0)) % UInt64(2 * cells.cell[$0])) })
                cells.fill(m + n * item, blind: w.map { $0 + n * item }, shape: s, pass: Int(draw.bits(3) % 8), origin: SIMD3(0, 0, 0), shift: shift)
            }
        case .point:
            BernoulliMask.fill(mask, dropRate: rate, stream: stream)
            if let w { for i in 0..<mask.count { w[i] = 1 - m[i] } }
        case let .block(edge):
            let offsets = (0..<3).map { Int(stream.child(1).bits(UInt64($0)) % UInt64(edge)) }
            let cells = RandomStream(seed: stream.seed, stream: stream.stream &+ 0xB10C)
            let (cd, ch, cw) = ((s.depth + 2 * edge) / edge, (s.height + 2 * edge) / edge, (s.width + 2 * edge) / edge)
            for n in 0..<s.batch { for z in 0..<s.depth { for y in 0..<s.height { for x in 0..<s.width {
                let (bz, by, bx) = ((z + offsets[0]) / edge, (y + offsets[1]) / edge, (x + offsets[2]) / edge)
                let cell = ((n * cd + bz) * ch + by) * cw + bx
                let i = ((n * s.depth + z) * s.height + y) * s.width + x
                m[i] = cells.uniform(UInt64(cell)) < rate ? 0 : 1
                w?[i] = 1 - m[i]
            } } } }
        case let .mixed(edge):
            MaskKind.point.fill(mask, lossWeight: lossWeight, rate: rate, stream: stream.child(10))
            let blocks = Tensor(s), blockWeight = lossWeight.map { _ in Tensor(s) }
            MaskKind.block(edge: edge).fill(blocks, lossWeight: blockWeight, rate: rate, stream: stream.child(11))
            let item = mask.count / s.batch
            for n in 0..<s.batch where stream.child(12).bits(UInt64(n)) & 1 == 1 {
                (m + n * item).update(from: blocks.data + n * item, count: item)
                if let w, let blockWeight { (w + n * item).update(from: blockWeight.data + n * item, count: item) }
            }
        case let .xline(length):
            mask.data.update(repeating: 1, count: mask.count)
            w?.update(repeating: 0, count: mask.count)
            let rows = s.batch * s.depth * s.height
            for row in 0..<rows {
                let offset = Int(stream.child(2).bits(UInt64(row)) % UInt64(length))
                var start = offset - length
                var segment = 0
                while start < s.width {
                    if stream.uniform(UInt64(row &* 4096 &+ segment)) < rate {
                        for x in max(0, start)..<min(s.width, start + length) { m[row * s.width + x] = 0 }
                        let centre = start + length / 2
                        if centre >= 0 && centre < s.width { w?[row * s.width + centre] = 1 }
                    }
                    start += length
                    segment += 1
                }
            }
        }
    }

    /// Whether `--mask-rate` sets the fraction hidden (cell masks hide what their geometry gives).
    public var hidesFixedRate: Bool {
        if case .cells = self { return false }
        return true
    }

    /// The mask a model's `s2s.mask` metadata names (`point`, `block2`, `xline5`), or nil.
    public init?(metadata text: String) {
        func size(after prefix: String) -> Int? { text.hasPrefix(prefix) ? Int(text.dropFirst(prefix.count)) : nil }
        if text == "point" { self = .point } else if let n = size(after: "xline") { self = .xline(length: n) } else if let n = size(after: "block") {
            self = .block(edge: n)
        } else { return nil }
    }

    /// Parses `point`, `block`, `mixed`, `xline` with the size parameters.
    public static func named(_ name: String, block: Int, line: Int) -> MaskKind? {
        switch name {
        case "point": return .point
        case "block": return .block(edge: block)
        case "xline": return .xline(length: line)
        case "mixed": return .mixed(edge: block)
        default: return nil
        }
    }
}
