import FilterKit

extension UNet {
    /// The same output as ``forward(_:mask:stream:)`` (bit for bit: the same operations in the
    /// same order) in about a third of the memory, for prediction: nothing is kept for a backward
    /// pass. Only the skip connections live through the pass; every other feature map goes to one
    /// of two arenas that the layers take turns writing (each as large as the largest map it
    /// receives), dropout runs in place, and upsampling writes straight into the concatenation.
    ///
    /// With `dropout` false the dropout layers pass their input through (inverted dropout: the
    /// expected activations), a deterministic prediction. The returned tensor is reused by the
    /// next call.
    public func predict(_ input: Tensor, mask: Tensor, stream: RandomStream, dropout: Bool = true) -> Tensor {
        let shape = checkedShape(input, mask)
        if inference?.shape != shape {
            activations = nil
            inference = InferenceActivations(configuration, shape)
        }
        let a = inference!
        let c = configuration, e = c.encoderChannels, rate = dropout ? c.dropout : 0
        let (x, m, inp) = (input.data, UnsafePointer(mask.data), a.masked.data)
        for i in 0..<input.count { inp[i] = x[i] * m[i] }
        PartialConvolution3D.ratio(mask: mask, into: a.ratio)

        // Encoder: pconv → A, then each level's convolution → B (or A), pooled into its skip.
        var level = shape.with(channels: e)
        let first = a.first(level)
        pconv.forward(masked: a.masked, ratio: a.ratio, into: first)
        Layers.leakyReLU(first)
        var h = first
        for i in 0..<c.pools {
            let encoded = a.other(than: h, level)
            encoder[i].forward(h, into: encoded)
            Layers.leakyReLU(encoded)
            level = level.halved
            let pooled = i < c.pools - 1 ? a.skips[i] : a.other(than: encoded, level)
            Layers.maxPool(encoded, into: pooled, argmax: a.argmax)
            h = pooled
        }
        let bottom = a.other(than: h, level)
        bottleneck.forward(h, into: bottom)
        Layers.leakyReLU(bottom)
        h = bottom

        // Decoder: upsample → concatenate with the skip → dropout → conv → dropout → conv.
        var previous = e
        for (j, (c1, c2)) in decoder.enumerated() {
            level = level.doubled
            let skip = a.skips[c.pools - 2 - j]
            let joined = a.other(than: h, level.with(channels: previous + e))
            Layers.upsampleConcatenate(h, skip, into: joined)
            Layers.dropout(joined, into: joined, rate: rate, stream: stream.child(UInt64(2 * j)))
            let conv1 = a.other(than: joined, level.with(channels: c.decoderChannels))
            c1.forward(joined, into: conv1)
            Layers.leakyReLU(conv1)
            Layers.dropout(conv1, into: conv1, rate: rate, stream: stream.child(UInt64(2 * j + 1)))
            let conv2 = a.other(than: conv1, level.with(channels: c.decoderChannels))
            c2.forward(conv1, into: conv2)
            Layers.leakyReLU(conv2)
            h = conv2
            previous = c.decoderChannels
        }

        // Top: upsample, concatenate with the masked input, three convolutions.
        let full = shape
        let joined = a.other(than: h, full.with(channels: previous + c.imageChannels))
        Layers.upsampleConcatenate(h, a.masked, into: joined)
        let base = UInt64(2 * decoder.count)
        Layers.dropout(joined, into: joined, rate: rate, stream: stream.child(base))
        let top0 = a.other(than: joined, full.with(channels: c.top[0]))
        head[0].forward(joined, into: top0)
        Layers.leakyReLU(top0)
        Layers.dropout(top0, into: top0, rate: rate, stream: stream.child(base + 1))
        let top1 = a.other(than: top0, full.with(channels: c.top[1]))
        head[1].forward(top0, into: top1)
        Layers.leakyReLU(top1)
        Layers.dropout(top1, into: top1, rate: rate, stream: stream.child(base + 2))
        head[2].forward(top1, into: a.output)
        return a.output
    }
}

/// The memory of an inference pass for one input shape: the masked input and its ratio, the
/// skip connections, two arenas the layers alternate between, one argmax scratch and the output.
final class InferenceActivations {
    let shape: TensorShape
    let masked: Tensor, ratio: Tensor, output: Tensor
    /// Pooled encoder maps the decoder concatenates (levels 0 ..< pools − 1).
    let skips: [Tensor]
    let argmax: UnsafeMutablePointer<UInt8>
    private let arenas: [UnsafeMutablePointer<Float>]
    /// Floats of each arena.
    private let capacities: [Int]

    init(_ c: UNetConfiguration, _ shape: TensorShape) {
        self.shape = shape
        masked = Tensor(shape)
        ratio = Tensor(shape.with(channels: 1))
        output = Tensor(shape.with(channels: c.imageChannels))
        var level = shape.with(channels: c.encoderChannels)
        var skips: [Tensor] = []
        for _ in 0..<(c.pools - 1) {
            level = level.halved
            skips.append(Tensor(level))
        }
        self.skips = skips
        argmax = .allocate(capacity: max(1, shape.halved.voxels * c.encoderChannels))
        capacities = InferenceActivations.arenaFloats(c, shape)
        arenas = capacities.map { .allocate(capacity: max(1, $0)) }
    }

    deinit {
        arenas.forEach { $0.deallocate() }
        argmax.deallocate()
    }

    /// A view of `shape` over the first arena (where the first layer writes).
    func first(_ shape: TensorShape) -> Tensor { view(0, shape) }

    /// A view of `shape` over the arena `current` does not use (the first when `current` is not
    /// in an arena: a skip connection).
    func other(than current: Tensor, _ shape: TensorShape) -> Tensor {
        view(InferenceActivations.other(than: current.data == arenas[0] ? 0 : current.data == arenas[1] ? 1 : nil), shape)
    }

    private static func other(than arena: Int?) -> Int { arena == 0 ? 1 : 0 }

    private func view(_ arena: Int, _ shape: TensorShape) -> Tensor {
        precondition(shape.count <= capacities[arena], "arena \(arena) of \(capacities[arena]) floats too small for \(shape)")
        return Tensor(shape, viewing: arenas[arena])
    }

    /// The floats each arena needs: the largest map it receives, following the pass's sequence
    /// of ``UNet/predict(_:mask:stream:dropout:)`` (each map goes to the arena its input is not in).
    static func arenaFloats(_ c: UNetConfiguration, _ shape: TensorShape) -> [Int] {
        var sizes = [0, 0]
        var current: Int? = 0
        func put(_ floats: Int, in arena: Int) {
            sizes[arena] = max(sizes[arena], floats)
            current = arena
        }
        let e = c.encoderChannels
        var voxels = shape.voxels
        put(voxels * e, in: 0)
        for i in 0..<c.pools {
            put(voxels * e, in: other(than: current))
            voxels /= 8
            if i < c.pools - 1 { current = nil } else { put(voxels * e, in: other(than: current)) }
        }
        put(voxels * e, in: other(than: current))
        var previous = e
        for _ in 0..<(c.pools - 1) {
            voxels *= 8
            put(voxels * (previous + e), in: other(than: current))
            put(voxels * c.decoderChannels, in: other(than: current))
            put(voxels * c.decoderChannels, in: other(than: current))
            previous = c.decoderChannels
        }
        voxels = shape.voxels
        put(voxels * (previous + c.imageChannels), in: other(than: current))
        put(voxels * c.top[0], in: other(than: current))
        put(voxels * c.top[1], in: other(than: current))
        return sizes
    }

    /// Bytes an inference pass on `shape` holds, as allocated above.
    static func bytes(_ c: UNetConfiguration, _ shape: TensorShape) -> Int {
        let e = c.encoderChannels, full = shape.voxels
        var skips = 0, voxels = full
        for _ in 0..<(c.pools - 1) {
            voxels /= 8
            skips += voxels * e
        }
        let floats = full * (2 + c.imageChannels) + skips + arenaFloats(c, shape).reduce(0, +)
        return floats * 4 + full / 8 * e
    }
}
