import FilterKit

/// The prediction of a network trained with masks: the mean over mask and dropout draws, or
/// with blind cells over their complementary passes (what prediction and distillation share).
final class MaskEnsemble {
    let network: UNet
    let mask: MaskKind
    /// Draws per block (`--samples`): with cells, rounds of ``BlindCells/passes`` passes.
    let samples: Int
    /// The fraction hidden by masks of a fixed rate.
    let maskRate: Float
    /// The seed of the cells' grid shifts.
    let seed: UInt64
    /// The mask of a pass and, with cell masks, its blind voxels.
    private var buffers: (visible: Tensor, blind: Tensor)?

    init(network: UNet, mask: MaskKind, settings: S2SSettings) {
        self.network = network
        self.mask = mask
        samples = settings.samples
        maskRate = settings.maskRate
        seed = settings.seed
    }

    /// Network passes per block with `mask` and `samples` draws.
    static func passes(mask: MaskKind, samples: Int) -> Int {
        if case .cells = mask { return BlindCells.passes * max(1, samples / BlindCells.passes) }
        return samples
    }

    /// Frees the buffers (distillation's blocks differ from prediction's).
    func releaseBuffers() { buffers = nil }

    /// The ensemble's prediction of a standardised block whose first voxel is at `origin` in the
    /// volume: with cell masks the mean over rounds of the 8 complementary passes, each voxel
    /// taken from the pass in which it is blind (rounds: `samples` / 8, at least one, each with its
    /// own grid shift; the grid is anchored to the volume); with the other masks the mean of
    /// `samples` mask and dropout draws. Draws come from `key`.
    func predict(_ block: Tensor, origin: SIMD3<Int>, key: RandomStream, into sum: Tensor) {
        let shape = block.shape
        if buffers?.visible.shape != shape { buffers = (Tensor(shape), Tensor(shape)) }
        let (visible, blind) = buffers!
        sum.zero()
        guard case let .cells(cells) = mask else {
            for sample in 0..<samples {
                mask.fill(visible, lossWeight: nil, rate: maskRate, stream: key.child(UInt64(2 * sample)))
                let out = network.predict(block, mask: visible, stream: key.child(UInt64(2 * sample + 1)))
                for i in 0..<sum.count { sum.data[i] += out.data[i] }
            }
            for i in 0..<sum.count { sum.data[i] /= Float(samples) }
            return
        }
        let rounds = max(1, samples / BlindCells.passes)
        for round in 0..<rounds {
            let draw = RandomStream(seed: seed, stream: 0xB11D).child(UInt64(round))
            let shift = round == 0 ? SIMD3(0, 0, 0) : SIMD3((0..<3).map { Int(draw.bits(UInt64($0)) % UInt64(2 * cells.cell[$0])) })
            for pass in 0..<BlindCells.passes {
                cells.fill(visible.data, blind: blind.data, shape: shape, pass: pass, origin: origin, shift: shift)
                // Expected activations: one draw per voxel would add its dropout noise unaveraged.
                let out = network.predict(block, mask: visible, stream: key.child(UInt64(round * BlindCells.passes + pass)), dropout: false)
                let (o, w, a) = (UnsafePointer(out.data), UnsafePointer(blind.data), sum.data)
                for i in 0..<sum.count { a[i] += o[i] * w[i] }
            }
        }
        if rounds > 1 { for i in 0..<sum.count { sum.data[i] /= Float(rounds) } }
    }
}
