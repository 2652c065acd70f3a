import CBLAS
import FilterKit

/// Scratch of the convolutions, grown on first use and kept, so steady-state steps allocate
/// nothing: a column (im2col) buffer per thread, and the partial weight and bias gradients of a
/// fixed number of chunk groups (``Convolution3D/gradientGroups``), so that gradients are summed
/// in the same order whatever the thread count.
final class ConvolutionWorkspace {
    /// One growable buffer; each is used by one thread at a time (its worker or its group).
    private final class Buffer {
        var pointer: UnsafeMutablePointer<Float>?
        var capacity = 0
        deinit { pointer?.deallocate() }

        func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
            if capacity < count {
                pointer?.deallocate()
                pointer = .allocate(capacity: count)
                capacity = count
            }
            return pointer!
        }
    }

    /// `[slot][index]`, fixed at creation so that threads never mutate a shared array.
    private let buffers: [[Buffer]]
    let workers: Int

    /// OpenBLAS runs single-threaded: the convolutions call it from several threads at once, and
    /// changing its thread count while another thread is inside a call corrupts its state. Set
    /// once, before the first workspace exists.
    private static let singleThreadedBLAS: Void = { BLASBackend.threads = 1 }()

    init(workers: Int) {
        ConvolutionWorkspace.singleThreadedBLAS
        self.workers = workers
        let slots = max(workers, Convolution3D.gradientGroups)
        buffers = (0..<3).map { _ in (0..<slots).map { _ in Buffer() } }
    }

    private func buffer(_ slot: Int, _ index: Int, count: Int) -> UnsafeMutablePointer<Float> {
        buffers[slot][index].reserve(count)
    }

    /// The im2col buffer of thread `worker`.
    func columns(worker: Int, count: Int) -> UnsafeMutablePointer<Float> { buffer(0, worker, count: count) }
    /// The partial weight gradient of chunk group `group`.
    func weightPartial(group: Int, count: Int) -> UnsafeMutablePointer<Float> { buffer(1, group, count: count) }
    /// The partial bias gradient of chunk group `group`.
    func biasPartial(group: Int, count: Int) -> UnsafeMutablePointer<Float> { buffer(2, group, count: count) }
}

/// Fills rows of an im2col matrix: for each voxel of `voxels` (flat over the batch), the 27
/// neighbours' channels in tap order (z, y, x), zeros past the faces ("same" padding).
///
/// Row `v − voxels.lowerBound` holds `27 · C` floats; tap `t = (kz·3 + ky)·3 + kx` starts at `t · C`.
/// Walks the voxels row by row, so the nine neighbouring rows are located once per row.
@inlinable
func gatherNeighbourhoods(_ source: UnsafePointer<Float>, _ shape: TensorShape, voxels: Range<Int>, into columns: UnsafeMutablePointer<Float>) {
    let (c, d, h, w) = (shape.channels, shape.depth, shape.height, shape.width)
    let k = 27 &* c
    var rows: (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
               UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?) = (nil, nil, nil, nil, nil, nil, nil, nil, nil)
    var out = columns
    var v = voxels.lowerBound
    while v < voxels.upperBound {
        let row = v / w, x0 = v &- row &* w
        let y = row % h, zn = row / h, z = zn % d, n = zn / d
        let end = min(voxels.upperBound, v &+ (w &- x0))
        // The nine neighbouring rows (nil past a face).
        withUnsafeMutableBytes(of: &rows) { raw in
            let p = raw.bindMemory(to: UnsafePointer<Float>?.self)
            for dz in 0..<3 {
                for dy in 0..<3 {
                    let zz = z &+ dz &- 1, yy = y &+ dy &- 1
                    p[dz &* 3 &+ dy] = zz >= 0 && zz < d && yy >= 0 && yy < h ? source + (((n &* d &+ zz) &* h &+ yy) &* w) &* c : nil
                }
            }
        }
        withUnsafeBytes(of: &rows) { raw in
            let p = raw.bindMemory(to: UnsafePointer<Float>?.self)
            for x in x0..<(x0 &+ (end &- v)) {
                var tap = out
                for r in 0..<9 {
                    let source = p[r]
                    for dx in -1...1 {
                        let xx = x &+ dx
                        if let source, xx >= 0 && xx < w {
                            let s = source + xx &* c
                            if c >= 16 {
                                tap.update(from: s, count: c)  // memcpy: wide vector moves
                            } else {
                                var i = 0
                                while i < c { tap[i] = s[i]; i &+= 1 }
                            }
                        } else {
                            tap.update(repeating: 0, count: c)
                        }
                        tap += c
                    }
                }
                out += k
            }
        }
        v = end
    }
}

/// A 3×3×3 convolution with "same" zero padding (and a bias unless `bias` is false), on
/// channels-last tensors: per chunk of voxels, im2col then one `cblas_sgemm` with the voxels
/// as M. The backward pass computes the weight gradient as colsᵀ·dY and the input gradient as
/// a convolution of dY with the flipped, transposed kernel (a gather, so threads never write
/// the same voxel).
///
/// Weights are stored `[tap · Cin + ci][co]` (K × Cout); in PyTorch they are `[co][ci][kz][ky][kx]`.
public final class Convolution3D {
    public let inputChannels: Int
    public let outputChannels: Int
    public let weight: Parameter
    public let bias: Parameter?
    /// The weights as `[tap · Cin + ci][co]`; ``weight`` holds them in PyTorch order for saving.
    let kernel: UnsafeMutablePointer<Float>
    let kernelGradient: UnsafeMutablePointer<Float>
    /// The flipped, transposed kernel `[tap · Cout + co][ci]` for the input gradient.
    private let flipped: UnsafeMutablePointer<Float>
    private let workspace: ConvolutionWorkspace
    /// Counts changes of ``kernel``, so oneDNN's reordered copies know when to follow.
    private var kernelVersion = 0
    /// oneDNN's primitives per input shape (nil: oneDNN cannot, use im2col + OpenBLAS).
    private var plans: [TensorShape: OneDNNConvolutionPlan?] = [:]
    /// Whether to run on oneDNN where it can (default: unless `STDIO_FILTER_CONV=blas`); false
    /// runs im2col + OpenBLAS (the tests compare the two).
    var usesOneDNN = OneDNN.enabled
    /// Layers with fewer output channels stay on OpenBLAS: oneDNN runs them at ~25 GFLOPS (they
    /// cost little either way), and its weight gradient for one output channel depends on the
    /// thread count, which would make training depend on it.
    static let oneDNNMinimumOutputChannels = 8
    /// Floats of im2col rows per chunk at most (8 MiB).
    static let columnBudget = 2 << 20

    init(name: String, inputChannels cin: Int, outputChannels cout: Int, bias hasBias: Bool = true, workspace: ConvolutionWorkspace) {
        inputChannels = cin
        outputChannels = cout
        weight = Parameter(name: "\(name).weight", torchShape: [cout, cin, 3, 3, 3])
        bias = hasBias ? Parameter(name: "\(name).bias", torchShape: [cout]) : nil
        kernel = .allocate(capacity: 27 * cin * cout)
        kernelGradient = .allocate(capacity: 27 * cin * cout)
        flipped = .allocate(capacity: 27 * cin * cout)
        kernel.initialize(repeating: 0, count: 27 * cin * cout)
        kernelGradient.initialize(repeating: 0, count: 27 * cin * cout)
        flipped.initialize(repeating: 0, count: 27 * cin * cout)
        self.workspace = workspace
    }

    deinit {
        kernel.deallocate()
        kernelGradient.deallocate()
        flipped.deallocate()
    }

    var k: Int { 27 * inputChannels }

    /// Copies ``weight`` (PyTorch order) into the GEMM layout; call after changing the weights.
    func loadKernel() {
        let (cin, cout) = (inputChannels, outputChannels)
        for co in 0..<cout {
            for ci in 0..<cin {
                for t in 0..<27 {
                    let w = weight.value[(co * cin + ci) * 27 + t]
                    kernel[(t * cin + ci) * cout + co] = w
                    flipped[((26 - t) * cout + co) * cin + ci] = w
                }
            }
        }
        kernelVersion &+= 1
    }

    /// Drops oneDNN's primitives and their buffers (made again when needed): the training
    /// shape's are not used for prediction.
    func releasePlans() { plans = [:] }

    /// oneDNN's primitives for inputs of `shape`, made on first use; nil when oneDNN is off or
    /// cannot handle the shape (then the OpenBLAS path runs).
    func plan(for shape: TensorShape) -> OneDNNConvolutionPlan? {
        guard usesOneDNN, outputChannels >= Convolution3D.oneDNNMinimumOutputChannels else { return nil }
        if let known = plans[shape] { return known }
        let made = try? OneDNNConvolutionPlan(shape: shape, inputChannels: inputChannels, outputChannels: outputChannels, bias: bias != nil)
        plans[shape] = made
        return made
    }

    /// Adds the GEMM-layout gradient to ``weight``'s (PyTorch order) and clears it.
    func storeKernelGradient() {
        let (cin, cout) = (inputChannels, outputChannels)
        for co in 0..<cout {
            for ci in 0..<cin {
                for t in 0..<27 {
                    weight.gradient[(co * cin + ci) * 27 + t] += kernelGradient[(t * cin + ci) * cout + co]
                }
            }
        }
        kernelGradient.update(repeating: 0, count: 27 * cin * cout)
    }

    /// Voxels per chunk for rows of `k` floats.
    static func chunkVoxels(k: Int, budget: Int = columnBudget) -> Int { max(64, min(4096, budget / max(1, k))) }

    /// Column floats per chunk for the weight gradient, whose GEMM sums over the chunk's voxels:
    /// longer sums run faster, so these chunks are larger.
    static let weightGradientBudget = 8 << 20

    /// Chunk groups whose weight gradients are accumulated separately and then summed in order.
    static let gradientGroups = 4

    /// Calls `body(worker, voxelRange)` for chunks of the batch's voxels, on the workspace's threads.
    private func forEachChunk(_ voxels: Int, k: Int, budget: Int = columnBudget, _ body: (Int, Range<Int>) -> Void) {
        let size = Convolution3D.chunkVoxels(k: k, budget: budget)
        let chunks = (voxels + size - 1) / size
        Parallel.forEachPiece(chunks, maximumPieces: workspace.workers) { worker, range in
            for c in range { body(worker, (c * size)..<min(voxels, (c + 1) * size)) }
        }
    }

    /// `y = conv(x) + b`; `y` has `outputChannels` channels, the same voxels as `x`.
    public func forward(_ x: Tensor, into y: Tensor) {
        precondition(x.shape.channels == inputChannels && y.shape == x.shape.with(channels: outputChannels))
        if let plan = plan(for: x.shape) {
            plan.forward(x.data, into: y.data, kernel: kernel, version: kernelVersion, bias: bias?.value)
            return
        }
        let (k, cout) = (self.k, outputChannels)
        let input = UnsafePointer(x.data), output = y.data, kernel = UnsafePointer(self.kernel)
        let bias = self.bias.map { UnsafePointer($0.value) }
        forEachChunk(x.shape.voxels, k: k) { worker, voxels in
            let columns = workspace.columns(worker: worker, count: voxels.count * k)
            gatherNeighbourhoods(input, x.shape, voxels: voxels, into: columns)
            let out = output + voxels.lowerBound * cout
            if let bias {
                for v in 0..<voxels.count { (out + v * cout).update(from: bias, count: cout) }
            }
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(voxels.count), Int32(cout), Int32(k), 1,
                columns, Int32(k), kernel, Int32(cout), bias == nil ? 0 : 1, out, Int32(cout))
        }
    }

    /// Adds this layer's weight (and bias) gradient for `dy` given the input `x`, and writes (or
    /// adds, with `accumulate`) the input gradient into `dx` when given.
    public func backward(input x: Tensor, outputGradient dy: Tensor, inputGradient dx: Tensor?, accumulate: Bool = false) {
        if let plan = plan(for: x.shape) {
            do {
                try plan.backward(
                    workspace: workspace, input: x.data, outputGradient: dy.data, inputGradient: dx?.data, accumulate: accumulate,
                    kernel: kernel, version: kernelVersion, kernelGradient: kernelGradient, biasGradient: bias?.gradient)
                storeKernelGradient()
                return
            } catch {
                plans[x.shape] = .some(nil)  // oneDNN cannot train this shape: OpenBLAS from now on
            }
        }
        let (k, cout, cin) = (self.k, outputChannels, inputChannels)
        let voxels = x.shape.voxels
        let input = UnsafePointer(x.data), gradient = UnsafePointer(dy.data)
        // The weight gradient: chunks in a fixed number of groups, each summed in chunk order,
        // the groups then added in order, so the result does not depend on the thread count.
        let size = Convolution3D.chunkVoxels(k: k, budget: Convolution3D.weightGradientBudget)
        let chunks = (voxels + size - 1) / size, groups = Convolution3D.gradientGroups
        for g in 0..<groups {
            workspace.weightPartial(group: g, count: k * cout).update(repeating: 0, count: k * cout)
            workspace.biasPartial(group: g, count: cout).update(repeating: 0, count: cout)
        }
        Parallel.forEachPiece(groups, maximumPieces: workspace.workers) { worker, range in
            for g in range {
                let partial = workspace.weightPartial(group: g, count: k * cout), db = workspace.biasPartial(group: g, count: cout)
                for c in (chunks * g / groups)..<(chunks * (g + 1) / groups) {
                    let chunk = (c * size)..<min(voxels, (c + 1) * size)
                    let columns = workspace.columns(worker: worker, count: chunk.count * k)
                    gatherNeighbourhoods(input, x.shape, voxels: chunk, into: columns)
                    let dyChunk = gradient + chunk.lowerBound * cout
                    cblas_sgemm(
                        CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(cout), Int32(chunk.count), 1,
                        columns, Int32(k), dyChunk, Int32(cout), 1, partial, Int32(cout))
                    for v in 0..<chunk.count {
                        let row = dyChunk + v * cout
                        for o in 0..<cout { db[o] += row[o] }
                    }
                }
            }
        }
        for g in 0..<groups {
            let partial = workspace.weightPartial(group: g, count: k * cout)
            for i in 0..<(k * cout) { kernelGradient[i] += partial[i] }
            if let bias {
                let db = workspace.biasPartial(group: g, count: cout)
                for o in 0..<cout { bias.gradient[o] += db[o] }
            }
        }
        storeKernelGradient()
        guard let dx else { return }
        let kt = 27 * cout, flipped = UnsafePointer(self.flipped), out = dx.data
        forEachChunk(voxels, k: kt) { worker, range in
            let columns = workspace.columns(worker: worker, count: range.count * kt)
            gatherNeighbourhoods(gradient, dy.shape, voxels: range, into: columns)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(range.count), Int32(cin), Int32(kt), 1,
                columns, Int32(kt), flipped, Int32(cin), accumulate ? 1 : 0, out + range.lowerBound * cin, Int32(cin))
        }
    }
}
