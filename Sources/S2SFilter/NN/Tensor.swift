/// The extent of a batch of 3-D feature maps: batch, depth (Z), height (Y), width (X), channels.
public struct TensorShape: Hashable, Sendable, CustomStringConvertible {
    public var batch: Int, depth: Int, height: Int, width: Int, channels: Int

    public init(batch: Int = 1, depth: Int, height: Int, width: Int, channels: Int) {
        self.batch = batch
        self.depth = depth
        self.height = height
        self.width = width
        self.channels = channels
    }

    /// Voxels per sample.
    @inlinable public var voxelsPerSample: Int { depth &* height &* width }
    /// Voxels in the batch.
    @inlinable public var voxels: Int { batch &* voxelsPerSample }
    /// Floats in the batch.
    @inlinable public var count: Int { voxels &* channels }

    /// The same voxels with `c` channels.
    public func with(channels c: Int) -> TensorShape { TensorShape(batch: batch, depth: depth, height: height, width: width, channels: c) }

    /// Half the size in each spatial dimension (rounded down), as a 2× max-pool gives.
    public var halved: TensorShape { TensorShape(batch: batch, depth: depth / 2, height: height / 2, width: width / 2, channels: channels) }

    /// Twice the size, as a 2× nearest upsample gives.
    public var doubled: TensorShape { TensorShape(batch: batch, depth: depth * 2, height: height * 2, width: width * 2, channels: channels) }

    public var description: String { "\(batch)×\(depth)×\(height)×\(width)×\(channels)" }
}

/// A batch of 3-D feature maps, channels last (`[batch][z][y][x][channel]`), in memory owned by
/// the tensor and reused from step to step (no allocation on the hot path).
public final class Tensor {
    public let shape: TensorShape
    public let data: UnsafeMutablePointer<Float>
    /// False for a view into memory another object owns (``init(_:viewing:)``).
    private let ownsData: Bool

    public init(_ shape: TensorShape) {
        self.shape = shape
        data = .allocate(capacity: max(1, shape.count))
        data.initialize(repeating: 0, count: max(1, shape.count))
        ownsData = true
    }

    /// A tensor of `shape` over `memory` (at least `shape.count` floats), which must outlive it.
    init(_ shape: TensorShape, viewing memory: UnsafeMutablePointer<Float>) {
        self.shape = shape
        data = memory
        ownsData = false
    }

    deinit { if ownsData { data.deallocate() } }

    @inlinable public var count: Int { shape.count }

    public func zero() { data.update(repeating: 0, count: count) }

    /// The values as an array (tests and small tensors).
    public var values: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// Copies `values` in (their count must match).
    public func set(_ values: [Float]) {
        precondition(values.count == count, "\(values.count) values for a tensor of \(count)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }
}

/// A learnable array with its gradient and Adam moments, named and shaped as in PyTorch.
public final class Parameter {
    /// The PyTorch state-dict name, such as `enc.0.weight`.
    public let name: String
    /// The PyTorch shape (for conv weights `[Cout, Cin, 3, 3, 3]`).
    public let torchShape: [Int]
    public let count: Int
    public let value: UnsafeMutablePointer<Float>
    public let gradient: UnsafeMutablePointer<Float>
    let firstMoment: UnsafeMutablePointer<Float>
    let secondMoment: UnsafeMutablePointer<Float>

    init(name: String, torchShape: [Int]) {
        self.name = name
        self.torchShape = torchShape
        count = torchShape.reduce(1, *)
        value = .allocate(capacity: count)
        gradient = .allocate(capacity: count)
        firstMoment = .allocate(capacity: count)
        secondMoment = .allocate(capacity: count)
        for p in [value, gradient, firstMoment, secondMoment] { p.initialize(repeating: 0, count: count) }
    }

    deinit { [value, gradient, firstMoment, secondMoment].forEach { $0.deallocate() } }

    public func zeroGradient() { gradient.update(repeating: 0, count: count) }

    public var values: [Float] { Array(UnsafeBufferPointer(start: value, count: count)) }
    public var gradients: [Float] { Array(UnsafeBufferPointer(start: gradient, count: count)) }
}
