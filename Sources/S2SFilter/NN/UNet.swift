import FilterKit
#if canImport(Glibc)
import Glibc
#endif

/// The shape of a Self2Self U-Net (notes/denoisers.md §2.1, in 3-D with "same" padding).
public struct UNetConfiguration: Codable, Sendable, Equatable {
    /// 2× max-pools in the encoder (patch sides must be multiples of 2^pools).
    public var pools: Int
    public var encoderChannels: Int
    public var decoderChannels: Int
    /// Widths of the two full-resolution convolutions before the output.
    public var top: [Int]
    /// Dropout rate in front of every decoder convolution (kept on at inference).
    public var dropout: Float
    public var imageChannels: Int = 1

    public init(pools: Int, encoderChannels: Int, decoderChannels: Int, top: [Int], dropout: Float = 0.3) {
        self.pools = pools
        self.encoderChannels = encoderChannels
        self.decoderChannels = decoderChannels
        self.top = top
        self.dropout = dropout
    }

    /// The paper's network in 3-D: 2,963,425 parameters.
    public static let full = UNetConfiguration(pools: 5, encoderChannels: 48, decoderChannels: 96, top: [64, 32])
    /// A quarter of the compute: 399,745 parameters.
    public static let lite = UNetConfiguration(pools: 3, encoderChannels: 24, decoderChannels: 48, top: [32, 16])

    public static func preset(_ name: String) -> UNetConfiguration? { ["full": full, "lite": lite][name] }

    /// Block and patch sides must be multiples of this.
    public var sizeMultiple: Int { 1 << pools }

    /// Memory the activations of one pass on `shape` take (``UNet/activationBytes(_:training:)``),
    /// known without building the network.
    public func activationBytes(_ shape: TensorShape, training: Bool) -> Int {
        training ? 2 * Activations.forwardBytes(self, shape) : InferenceActivations.bytes(self, shape)
    }

    /// Memory the convolutions' scratch grows to with `workers` threads (``UNet/workspaceBytes(training:)``).
    public func workspaceBytes(training: Bool, workers: Int) -> Int {
        let columns = workers * (training ? Convolution3D.weightGradientBudget : Convolution3D.columnBudget)
        let widest = convolutionChannels.map { $0.input * $0.output * 27 + $0.output }.max() ?? 0
        return 4 * (columns + (training ? Convolution3D.gradientGroups * widest : 0))
    }

    /// Input and output channels of every convolution, in the network's order.
    var convolutionChannels: [(input: Int, output: Int)] {
        let e = encoderChannels, d = decoderChannels
        var layers = [(imageChannels, e)] + Array(repeating: (e, e), count: pools + 1)
        var previous = e
        for _ in 0..<(pools - 1) {
            layers += [(previous + e, d), (d, d)]
            previous = d
        }
        return (layers + [(previous + imageChannels, top[0]), (top[0], top[1]), (top[1], imageChannels)]).map { (input: $0.0, output: $0.1) }
    }
}

/// The Self2Self U-Net with forward and backward passes on channels-last tensors.
///
/// Layer and parameter names follow `../shared/tools/torch_s2s3d.py` (`pconv0`, `enc.i`, `bott`,
/// `dec.j.0/1`, `top.0/1/2`), so weights move between the two (``Safetensors``).
public final class UNet {
    public let configuration: UNetConfiguration
    let workspace: ConvolutionWorkspace
    let pconv: PartialConvolution3D
    let encoder: [Convolution3D]
    let bottleneck: Convolution3D
    let decoder: [(Convolution3D, Convolution3D)]
    let head: [Convolution3D]
    /// Every parameter, in PyTorch state-dict order.
    public let parameters: [Parameter]
    /// What the last training forward pass kept for its backward pass.
    var activations: Activations?
    /// The buffers of the last inference pass (``predict(_:mask:stream:)``).
    var inference: InferenceActivations?

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Memory the activations of one pass on `shape` take: forward and backward when `training`,
    /// else an inference pass (``predict(_:mask:stream:)``).
    public func activationBytes(_ shape: TensorShape, training: Bool) -> Int {
        configuration.activationBytes(shape, training: training)
    }

    /// Memory the convolutions' scratch grows to: a column buffer per thread (larger for the
    /// weight gradients of training) and the partial gradients of each chunk group.
    public func workspaceBytes(training: Bool) -> Int {
        configuration.workspaceBytes(training: training, workers: workspace.workers)
    }

    /// Builds the network with PyTorch's initialisation (seeded): default init for the partial
    /// convolution and encoder, He-normal for the decoder and top, std 1/√fan_in for the output.
    public init(_ configuration: UNetConfiguration, seed: UInt64 = 0) {
        self.configuration = configuration
        let c = configuration
        // Convolutions run one chunk per thread with single-threaded BLAS calls (measured faster than
        // one multi-threaded call at a time, and the im2col work is spread too).
        let workspace = ConvolutionWorkspace(workers: Parallel.threads)
        self.workspace = workspace
        let e = c.encoderChannels
        pconv = PartialConvolution3D(name: "pconv0", inputChannels: c.imageChannels, outputChannels: e, workspace: workspace)
        encoder = (0..<c.pools).map { Convolution3D(name: "enc.\($0)", inputChannels: e, outputChannels: e, workspace: workspace) }
        bottleneck = Convolution3D(name: "bott", inputChannels: e, outputChannels: e, workspace: workspace)
        var previous = e
        var decoder: [(Convolution3D, Convolution3D)] = []
        for j in 0..<(c.pools - 1) {
            decoder.append((
                Convolution3D(name: "dec.\(j).0", inputChannels: previous + e, outputChannels: c.decoderChannels, workspace: workspace),
                Convolution3D(name: "dec.\(j).1", inputChannels: c.decoderChannels, outputChannels: c.decoderChannels, workspace: workspace)))
            previous = c.decoderChannels
        }
        self.decoder = decoder
        head = [
            Convolution3D(name: "top.0", inputChannels: previous + c.imageChannels, outputChannels: c.top[0], workspace: workspace),
            Convolution3D(name: "top.1", inputChannels: c.top[0], outputChannels: c.top[1], workspace: workspace),
            Convolution3D(name: "top.2", inputChannels: c.top[1], outputChannels: c.imageChannels, workspace: workspace),
        ]
        var parameters = [pconv.convolution.weight, pconv.bias]
        for layer in encoder + [bottleneck] + decoder.flatMap({ [$0.0, $0.1] }) + head {
            parameters.append(layer.weight)
            parameters.append(layer.bias!)
        }
        self.parameters = parameters
        initialize(seed: seed)
    }

    var convolutions: [Convolution3D] { [pconv.convolution] + encoder + [bottleneck] + decoder.flatMap { [$0.0, $0.1] } + head }

    /// Draws the weights as PyTorch initialises the reference module.
    public func initialize(seed: UInt64) {
        let random = RandomStream(seed: seed, stream: 0x5EED)
        for (index, layer) in convolutions.enumerated() {
            let stream = random.child(UInt64(index))
            let fanIn = Float(layer.inputChannels * 27)
            let isHead = head.contains { $0 === layer } || decoder.contains { $0.0 === layer || $0.1 === layer }
            for i in 0..<layer.weight.count {
                if layer === head[2] {
                    layer.weight.value[i] = stream.normal(UInt64(i)) / fanIn.squareRoot()
                } else if isHead {
                    layer.weight.value[i] = stream.normal(UInt64(i)) * (2 / fanIn).squareRoot()
                } else {
                    // kaiming_uniform(a = √5): U(−1/√fan_in, 1/√fan_in).
                    layer.weight.value[i] = (2 * stream.uniform(UInt64(i)) - 1) / fanIn.squareRoot()
                }
            }
            if let bias = layer.bias {
                let fromDefault = !isHead
                for o in 0..<bias.count {
                    bias.value[o] = fromDefault ? (2 * stream.child(1).uniform(UInt64(o)) - 1) / fanIn.squareRoot() : 0
                }
            }
        }
        pconv.bias.value.update(repeating: 0, count: pconv.bias.count)
        parametersChanged()
    }

    /// Call after writing parameter values (an optimiser step, loading weights).
    public func parametersChanged() { convolutions.forEach { $0.loadKernel() } }

    public func zeroGradients() { parameters.forEach { $0.zeroGradient() } }

    /// The patch side must be a multiple of this.
    public var sizeMultiple: Int { configuration.sizeMultiple }

    /// Frees the activations and gradients kept for the last shape (such as a training batch
    /// before prediction on blocks of another shape); the next pass allocates what it needs.
    public func releaseActivations() {
        activations = nil
        inference = nil
        convolutions.forEach { $0.releasePlans() }
    }

    // MARK: Forward and backward

    /// The shape of `input`, checked against `mask` and the network (sides multiples of 2^pools).
    func checkedShape(_ input: Tensor, _ mask: Tensor) -> TensorShape {
        let shape = input.shape
        precondition(shape == mask.shape && shape.channels == configuration.imageChannels)
        precondition([shape.depth, shape.height, shape.width].allSatisfy { $0 % sizeMultiple == 0 && $0 > 0 },
                     "patch sides must be multiples of \(sizeMultiple), got \(shape)")
        return shape
    }

    /// The output for the noisy `input` seen through `mask` (1 = visible), with dropout drawn
    /// from `stream`. The returned tensor is reused by the next call.
    public func forward(_ input: Tensor, mask: Tensor, stream: RandomStream) -> Tensor {
        let shape = checkedShape(input, mask)
        if activations?.shape != shape {
            inference = nil
            activations = Activations(configuration, shape)
        }
        let a = activations!
        a.stream = stream
        let (x, m, inp) = (input.data, UnsafePointer(mask.data), a.masked.data)
        for i in 0..<input.count { inp[i] = x[i] * m[i] }
        PartialConvolution3D.ratio(mask: mask, into: a.ratio)
        pconv.forward(masked: a.masked, ratio: a.ratio, into: a.first.value)
        Layers.leakyReLU(a.first.value)
        var h = a.first.value
        for i in 0..<configuration.pools {
            encoder[i].forward(h, into: a.encoded[i].value)
            Layers.leakyReLU(a.encoded[i].value)
            Layers.maxPool(a.encoded[i].value, into: a.pooled[i].value, argmax: a.argmax[i])
            h = a.pooled[i].value
        }
        bottleneck.forward(h, into: a.bottom.value)
        Layers.leakyReLU(a.bottom.value)
        h = a.bottom.value
        let rate = configuration.dropout
        for (j, (c1, c2)) in decoder.enumerated() {
            let level = a.levels[j]
            Layers.upsample(h, into: level.up.value)
            Layers.concatenate(level.up.value, a.pooled[configuration.pools - 2 - j].value, into: level.joined.value)
            Layers.dropout(level.joined.value, into: level.dropped1.value, rate: rate, stream: stream.child(UInt64(2 * j)))
            c1.forward(level.dropped1.value, into: level.conv1.value)
            Layers.leakyReLU(level.conv1.value)
            Layers.dropout(level.conv1.value, into: level.dropped2.value, rate: rate, stream: stream.child(UInt64(2 * j + 1)))
            c2.forward(level.dropped2.value, into: level.conv2.value)
            Layers.leakyReLU(level.conv2.value)
            h = level.conv2.value
        }
        Layers.upsample(h, into: a.topUp.value)
        Layers.concatenate(a.topUp.value, a.masked, into: a.topJoined.value)
        let base = UInt64(2 * decoder.count)
        Layers.dropout(a.topJoined.value, into: a.topDropped[0].value, rate: rate, stream: stream.child(base))
        head[0].forward(a.topDropped[0].value, into: a.topConv[0].value)
        Layers.leakyReLU(a.topConv[0].value)
        Layers.dropout(a.topConv[0].value, into: a.topDropped[1].value, rate: rate, stream: stream.child(base + 1))
        head[1].forward(a.topDropped[1].value, into: a.topConv[1].value)
        Layers.leakyReLU(a.topConv[1].value)
        Layers.dropout(a.topConv[1].value, into: a.topDropped[2].value, rate: rate, stream: stream.child(base + 2))
        head[2].forward(a.topDropped[2].value, into: a.output)
        return a.output
    }

    /// Adds every parameter's gradient for `outputGradient` (dLoss/dOutput of the last forward).
    /// `outputGradient` is left unchanged.
    public func backward(_ outputGradient: Tensor) {
        guard let a = activations, let stream = a.stream else { preconditionFailure("backward before forward") }
        let rate = configuration.dropout
        let base = UInt64(2 * decoder.count)
        head[2].backward(input: a.topDropped[2].value, outputGradient: outputGradient, inputGradient: a.topDropped[2].gradient)
        Layers.dropoutBackward(gradient: a.topDropped[2].gradient, into: a.topConv[1].gradient, rate: rate, stream: stream.child(base + 2))
        Layers.leakyReLUBackward(output: a.topConv[1].value, gradient: a.topConv[1].gradient)
        head[1].backward(input: a.topDropped[1].value, outputGradient: a.topConv[1].gradient, inputGradient: a.topDropped[1].gradient)
        Layers.dropoutBackward(gradient: a.topDropped[1].gradient, into: a.topConv[0].gradient, rate: rate, stream: stream.child(base + 1))
        Layers.leakyReLUBackward(output: a.topConv[0].value, gradient: a.topConv[0].gradient)
        head[0].backward(input: a.topDropped[0].value, outputGradient: a.topConv[0].gradient, inputGradient: a.topDropped[0].gradient)
        Layers.dropoutBackward(gradient: a.topDropped[0].gradient, into: a.topJoined.gradient, rate: rate, stream: stream.child(base))
        Layers.concatenateBackward(gradient: a.topJoined.gradient, into: a.topUp.gradient, nil)
        var below = decoder.isEmpty ? a.bottom : a.levels[decoder.count - 1].conv2
        Layers.upsampleBackward(gradient: a.topUp.gradient, into: below.gradient)
        for j in stride(from: decoder.count - 1, through: 0, by: -1) {
            let (c1, c2) = decoder[j], level = a.levels[j]
            Layers.leakyReLUBackward(output: level.conv2.value, gradient: level.conv2.gradient)
            c2.backward(input: level.dropped2.value, outputGradient: level.conv2.gradient, inputGradient: level.dropped2.gradient)
            Layers.dropoutBackward(gradient: level.dropped2.gradient, into: level.conv1.gradient, rate: rate, stream: stream.child(UInt64(2 * j + 1)))
            Layers.leakyReLUBackward(output: level.conv1.value, gradient: level.conv1.gradient)
            c1.backward(input: level.dropped1.value, outputGradient: level.conv1.gradient, inputGradient: level.dropped1.gradient)
            Layers.dropoutBackward(gradient: level.dropped1.gradient, into: level.joined.gradient, rate: rate, stream: stream.child(UInt64(2 * j)))
            // The skip's gradient goes straight into its buffer; the encoder adds its own below.
            Layers.concatenateBackward(gradient: level.joined.gradient, into: level.up.gradient, a.pooled[configuration.pools - 2 - j].gradient)
            below = j == 0 ? a.bottom : a.levels[j - 1].conv2
            Layers.upsampleBackward(gradient: level.up.gradient, into: below.gradient)
        }
        Layers.leakyReLUBackward(output: a.bottom.value, gradient: a.bottom.gradient)
        let pools = configuration.pools
        bottleneck.backward(input: a.pooled[pools - 1].value, outputGradient: a.bottom.gradient, inputGradient: a.pooled[pools - 1].gradient)
        for i in stride(from: pools - 1, through: 0, by: -1) {
            Layers.maxPoolBackward(gradient: a.pooled[i].gradient, argmax: a.argmax[i], into: a.encoded[i].gradient)
            Layers.leakyReLUBackward(output: a.encoded[i].value, gradient: a.encoded[i].gradient)
            let previous = i == 0 ? a.first : a.pooled[i - 1]
            // pooled[i − 1] already holds its skip gradient (a decoder level), so add to it.
            encoder[i].backward(input: previous.value, outputGradient: a.encoded[i].gradient, inputGradient: previous.gradient, accumulate: i > 0)
        }
        Layers.leakyReLUBackward(output: a.first.value, gradient: a.first.gradient)
        pconv.backward(masked: a.masked, ratio: a.ratio, outputGradient: a.first.gradient)
    }
}

/// A tensor and its gradient (allocated on the first backward pass: prediction needs none).
final class Slot {
    let value: Tensor
    lazy var gradient = Tensor(value.shape)
    init(_ shape: TensorShape) {
        value = Tensor(shape)
    }
}

/// Everything a forward pass keeps for the backward pass, for one input shape.
final class Activations {
    let shape: TensorShape
    var stream: RandomStream?
    let masked: Tensor, ratio: Tensor, first: Slot
    let encoded: [Slot], pooled: [Slot]
    let argmax: [UnsafeMutablePointer<UInt8>]
    let bottom: Slot
    let levels: [(up: Slot, joined: Slot, dropped1: Slot, conv1: Slot, dropped2: Slot, conv2: Slot)]
    let topUp: Slot, topJoined: Slot
    let topDropped: [Slot], topConv: [Slot]
    let output: Tensor

    init(_ c: UNetConfiguration, _ shape: TensorShape) {
        self.shape = shape
        let e = c.encoderChannels
        masked = Tensor(shape)
        ratio = Tensor(shape.with(channels: 1))
        first = Slot(shape.with(channels: e))
        var level = shape.with(channels: e)
        var encoded: [Slot] = [], pooled: [Slot] = []
        for _ in 0..<c.pools {
            encoded.append(Slot(level))
            level = level.halved
            pooled.append(Slot(level))
        }
        self.encoded = encoded
        self.pooled = pooled
        argmax = pooled.map { UnsafeMutablePointer<UInt8>.allocate(capacity: $0.value.count) }
        bottom = Slot(level)
        var previous = e
        var levels: [(Slot, Slot, Slot, Slot, Slot, Slot)] = []
        for _ in 0..<(c.pools - 1) {
            level = level.doubled
            let joined = level.with(channels: previous + e), conv = level.with(channels: c.decoderChannels)
            levels.append((Slot(level.with(channels: previous)), Slot(joined), Slot(joined), Slot(conv), Slot(conv), Slot(conv)))
            previous = c.decoderChannels
        }
        self.levels = levels.map { (up: $0.0, joined: $0.1, dropped1: $0.2, conv1: $0.3, dropped2: $0.4, conv2: $0.5) }
        let full = shape
        topUp = Slot(full.with(channels: previous))
        topJoined = Slot(full.with(channels: previous + c.imageChannels))
        topDropped = [Slot(full.with(channels: previous + c.imageChannels)), Slot(full.with(channels: c.top[0])), Slot(full.with(channels: c.top[1]))]
        topConv = [Slot(full.with(channels: c.top[0])), Slot(full.with(channels: c.top[1]))]
        output = Tensor(full.with(channels: c.imageChannels))
    }

    deinit { argmax.forEach { $0.deallocate() } }

    /// Bytes a forward pass on `shape` holds (twice that once a backward pass ran), as allocated above.
    static func forwardBytes(_ c: UNetConfiguration, _ shape: TensorShape) -> Int {
        let e = c.encoderChannels, full = shape.voxels
        var floats = full * (2 + e)  // masked, ratio, first
        var voxels = full
        for _ in 0..<c.pools {
            floats += voxels * e + voxels / 8 * e + voxels / 8 * e / 4  // encoded, pooled, argmax bytes
            voxels /= 8
        }
        floats += voxels * e  // bottom
        var previous = e
        for _ in 0..<(c.pools - 1) {
            voxels *= 8
            floats += voxels * (previous + 2 * (previous + e) + 3 * c.decoderChannels)
            previous = c.decoderChannels
        }
        floats += full * (previous + 2 * (previous + c.imageChannels) + 2 * c.top[0] + 2 * c.top[1] + c.imageChannels)
        return floats * 4
    }
}
