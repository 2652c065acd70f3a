import CDNNL
import FilterKit
#if canImport(Glibc)
import Glibc
#endif

/// oneDNN (Intel's deep-learning primitives; Debian's libdnnl 2.6) for the 3×3×3 convolutions.
///
/// Its JIT kernels run direct convolutions on AVX-512 at 250–550 GFLOPS on this kind of machine,
/// where im2col + OpenBLAS `sgemm` reached about 120 (docs/benchmarks.md). The activations stay
/// in our channels-last layout (oneDNN's `ndhwc`), so nothing is reordered but the weights, once
/// per update. Results do not depend on the thread count (tested), like the OpenBLAS path's; layers
/// with fewer than ``Convolution3D/oneDNNMinimumOutputChannels`` outputs stay on OpenBLAS.
///
/// `STDIO_FILTER_CONV=blas` selects the im2col + OpenBLAS path instead (also the fallback when
/// oneDNN cannot make a primitive for a shape).
enum OneDNN {
    /// The CPU engine, or nil when oneDNN cannot start (then every convolution uses OpenBLAS).
    nonisolated(unsafe) static let engine: dnnl_engine_t? = {
        var engine: dnnl_engine_t?
        guard dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success else { return nil }
        return engine
    }()

    /// Whether convolutions use oneDNN: unless `STDIO_FILTER_CONV=blas`, and when it started.
    static let enabled: Bool = {
        if let choice = getenv("STDIO_FILTER_CONV"), String(cString: choice) == "blas" { return false }
        return engine != nil
    }()

    struct Failure: Error {
        let status: dnnl_status_t
        let call: String
    }

    @inline(__always)
    static func check(_ status: dnnl_status_t, _ call: @autoclosure () -> String) throws {
        guard status == dnnl_success else { throw Failure(status: status, call: call()) }
    }

    /// A plain (user) memory descriptor.
    static func descriptor(_ dims: [Int64], _ tag: dnnl_format_tag_t) throws -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        try check(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), dims, dnnl_f32, tag), "memory_desc_init")
        return md
    }
}

/// A oneDNN memory object; `handle` memory is ours (set per call) or allocated by oneDNN.
final class DNNLMemory {
    let memory: dnnl_memory_t
    var descriptor: dnnl_memory_desc_t

    /// Memory in `descriptor`'s layout, allocated by oneDNN when `allocate`, else pointed at a
    /// buffer with ``point(at:)`` before each use.
    init(_ descriptor: dnnl_memory_desc_t, allocate: Bool) throws {
        self.descriptor = descriptor
        var m: dnnl_memory_t?
        var md = descriptor
        try OneDNN.check(dnnl_memory_create(&m, &md, OneDNN.engine, allocate ? sf_dnnl_allocate() : nil), "memory_create")
        memory = m!
    }

    deinit { dnnl_memory_destroy(memory) }

    func point(at pointer: UnsafeMutableRawPointer) {
        dnnl_memory_set_data_handle(memory, pointer)
    }

    var data: UnsafeMutablePointer<Float> {
        var p: UnsafeMutableRawPointer?
        dnnl_memory_get_data_handle(memory, &p)
        return p!.assumingMemoryBound(to: Float.self)
    }

    func sameLayout(as other: dnnl_memory_desc_t) -> Bool {
        var a = descriptor, b = other
        return dnnl_memory_desc_equal(&a, &b) != 0
    }
}

/// A primitive and the descriptor it was made from (kept alive with it).
final class DNNLPrimitive {
    let descriptor: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t

    init(_ descriptor: dnnl_primitive_desc_t) throws {
        self.descriptor = descriptor
        var p: dnnl_primitive_t?
        let status = dnnl_primitive_create(&p, descriptor)
        guard status == dnnl_success else {
            dnnl_primitive_desc_destroy(descriptor)
            throw OneDNN.Failure(status: status, call: "primitive_create")
        }
        primitive = p!
    }

    /// A reorder from `from`'s layout to `to`'s, or nil when they are the same layout.
    static func reorder(from: dnnl_memory_desc_t, to: dnnl_memory_desc_t) throws -> DNNLPrimitive? {
        var a = from, b = to
        return dnnl_memory_desc_equal(&a, &b) != 0 ? nil : try DNNLPrimitive(reorderFrom: from, to: to)
    }

    /// A reorder from `from`'s layout to `to`'s.
    private convenience init(reorderFrom from: dnnl_memory_desc_t, to: dnnl_memory_desc_t) throws {
        var pd: dnnl_primitive_desc_t?
        var a = from, b = to
        try OneDNN.check(dnnl_reorder_primitive_desc_create(&pd, &a, OneDNN.engine, &b, OneDNN.engine, nil), "reorder_primitive_desc_create")
        try self.init(pd!)
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }

    /// The layout the primitive wants for `what` (dnnl_query_src_md, …).
    func layout(_ what: dnnl_query_t) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(descriptor, what, 0)!.pointee
    }

    /// Runs on `stream` with `Parallel.threads` threads and waits.
    func execute(_ stream: dnnl_stream_t, _ arguments: [(Int32, DNNLMemory)]) {
        omp_set_num_threads(Int32(Parallel.threads))
        let args = arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.memory) }
        let status = dnnl_primitive_execute(primitive, stream, Int32(args.count), args)
        precondition(status == dnnl_success, "oneDNN execute failed (\(status))")
        dnnl_stream_wait(stream)
    }
}

/// The oneDNN primitives of one convolution layer for one input shape: forward, and (made on
/// the first backward pass) backward-data and backward-weights, with the weights reordered from
/// our `[tap][ci][co]` layout (oneDNN's `dhwio`) into whatever blocked layout each one chose.
final class OneDNNConvolutionPlan {
    let shape: TensorShape
    let inputChannels: Int, outputChannels: Int, hasBias: Bool
    private let stream: dnnl_stream_t
    private let sourceLayout: dnnl_memory_desc_t, destinationLayout: dnnl_memory_desc_t
    /// One sample's: the weight gradient is computed sample by sample and summed in order, as
    /// oneDNN's sum over a batch depends on the thread count.
    private let sampleSourceLayout: dnnl_memory_desc_t, sampleDestinationLayout: dnnl_memory_desc_t
    private let userWeightsLayout: dnnl_memory_desc_t, anyWeightsLayout: dnnl_memory_desc_t, biasLayout: dnnl_memory_desc_t
    private let forward: DNNLPrimitive
    private let source: DNNLMemory, destination: DNNLMemory, userWeights: DNNLMemory, bias: DNNLMemory
    private let forwardWeights: DNNLMemory
    private let toForwardWeights: DNNLPrimitive?
    /// Which kernel version the reordered weights hold.
    private var weightsVersion = -1
    private var training: Training?

    /// What the backward passes need.
    private final class Training {
        let data: DNNLPrimitive, weights: DNNLPrimitive
        let dataWeights: DNNLMemory, toDataWeights: DNNLPrimitive?
        let diffWeights: DNNLMemory, userDiffWeights: DNNLMemory, fromDiffWeights: DNNLPrimitive?
        let diffBias: DNNLMemory
        /// One sample of the input and of the output gradient, for the weight gradient.
        let sampleSource: DNNLMemory, sampleDestination: DNNLMemory
        /// The input gradient before it is added to another (``Convolution3D/backward`` with `accumulate`).
        var sum: UnsafeMutablePointer<Float>?
        init(data: DNNLPrimitive, weights: DNNLPrimitive, dataWeights: DNNLMemory, toDataWeights: DNNLPrimitive?,
             diffWeights: DNNLMemory, userDiffWeights: DNNLMemory, fromDiffWeights: DNNLPrimitive?, diffBias: DNNLMemory,
             sampleSource: DNNLMemory, sampleDestination: DNNLMemory) {
            (self.data, self.weights, self.dataWeights, self.toDataWeights) = (data, weights, dataWeights, toDataWeights)
            (self.diffWeights, self.userDiffWeights, self.fromDiffWeights, self.diffBias) = (diffWeights, userDiffWeights, fromDiffWeights, diffBias)
            (self.sampleSource, self.sampleDestination) = (sampleSource, sampleDestination)
        }
        deinit { sum?.deallocate() }
    }

    private static let strides: [Int64] = [1, 1, 1], padding: [Int64] = [1, 1, 1]

    init(shape: TensorShape, inputChannels cin: Int, outputChannels cout: Int, bias hasBias: Bool) throws {
        guard let engine = OneDNN.engine else { throw OneDNN.Failure(status: dnnl_runtime_error, call: "engine") }
        // oneDNN fixes a primitive's thread count when it is made: make it with the one it runs with.
        omp_set_num_threads(Int32(Parallel.threads))
        self.shape = shape
        (inputChannels, outputChannels, self.hasBias) = (cin, cout, hasBias)
        var s: dnnl_stream_t?
        try OneDNN.check(dnnl_stream_create(&s, engine, UInt32(dnnl_stream_default_flags.rawValue)), "stream_create")
        stream = s!
        let (n, d, h, w) = (Int64(shape.batch), Int64(shape.depth), Int64(shape.height), Int64(shape.width))
        sourceLayout = try OneDNN.descriptor([n, Int64(cin), d, h, w], dnnl_ndhwc)
        destinationLayout = try OneDNN.descriptor([n, Int64(cout), d, h, w], dnnl_ndhwc)
        sampleSourceLayout = try OneDNN.descriptor([1, Int64(cin), d, h, w], dnnl_ndhwc)
        sampleDestinationLayout = try OneDNN.descriptor([1, Int64(cout), d, h, w], dnnl_ndhwc)
        userWeightsLayout = try OneDNN.descriptor([Int64(cout), Int64(cin), 3, 3, 3], dnnl_dhwio)
        anyWeightsLayout = try OneDNN.descriptor([Int64(cout), Int64(cin), 3, 3, 3], dnnl_format_tag_any)
        biasLayout = try OneDNN.descriptor([Int64(cout)], dnnl_x)
        forward = try Self.makeForward(source: sourceLayout, destination: destinationLayout, weights: anyWeightsLayout, bias: hasBias ? biasLayout : nil)
        source = try DNNLMemory(sourceLayout, allocate: false)
        destination = try DNNLMemory(destinationLayout, allocate: false)
        userWeights = try DNNLMemory(userWeightsLayout, allocate: false)
        bias = try DNNLMemory(biasLayout, allocate: false)
        let chosen = forward.layout(dnnl_query_weights_md)
        toForwardWeights = try DNNLPrimitive.reorder(from: userWeightsLayout, to: chosen)
        // When the primitive takes our layout, it reads the kernel itself.
        forwardWeights = toForwardWeights == nil ? userWeights : try DNNLMemory(chosen, allocate: true)
    }

    /// A forward convolution primitive (3×3×3, stride 1, "same" padding) for these layouts.
    private static func makeForward(
        source: dnnl_memory_desc_t, destination: dnnl_memory_desc_t, weights: dnnl_memory_desc_t, bias: dnnl_memory_desc_t?
    ) throws -> DNNLPrimitive {
        var fd = dnnl_convolution_desc_t()
        var (src, wei, dst) = (source, weights, destination)
        var bia = bias ?? dnnl_memory_desc_t()
        try withUnsafeMutablePointer(to: &bia) { b in
            try OneDNN.check(
                dnnl_convolution_forward_desc_init(
                    &fd, dnnl_forward_training, dnnl_convolution_direct, &src, &wei, bias == nil ? nil : b, &dst,
                    strides, padding, padding), "convolution_forward_desc_init")
        }
        var pd: dnnl_primitive_desc_t?
        try OneDNN.check(dnnl_primitive_desc_create(&pd, &fd, nil, OneDNN.engine, nil), "primitive_desc_create (forward)")
        return try DNNLPrimitive(pd!)
    }

    deinit { dnnl_stream_destroy(stream) }

    private func makeTraining() throws -> Training {
        omp_set_num_threads(Int32(Parallel.threads))
        var (src, wei, bia, dst) = (sourceLayout, anyWeightsLayout, biasLayout, destinationLayout)
        let hint = forward.descriptor
        var dd = dnnl_convolution_desc_t(), wd = dnnl_convolution_desc_t()
        try OneDNN.check(
            dnnl_convolution_backward_data_desc_init(&dd, dnnl_convolution_direct, &src, &wei, &dst, Self.strides, Self.padding, Self.padding),
            "convolution_backward_data_desc_init")
        var dpd: dnnl_primitive_desc_t?, wpd: dnnl_primitive_desc_t?
        try OneDNN.check(dnnl_primitive_desc_create(&dpd, &dd, nil, OneDNN.engine, hint), "primitive_desc_create (backward data)")
        let data = try DNNLPrimitive(dpd!)
        // The weight gradient of one sample (its own forward descriptor as the hint).
        var (sampleSource, sampleDestination) = (sampleSourceLayout, sampleDestinationLayout)
        try withUnsafeMutablePointer(to: &bia) { b in
            try OneDNN.check(
                dnnl_convolution_backward_weights_desc_init(
                    &wd, dnnl_convolution_direct, &sampleSource, &wei, hasBias ? b : nil, &sampleDestination, Self.strides, Self.padding, Self.padding),
                "convolution_backward_weights_desc_init")
        }
        let sampleForward = try Self.makeForward(
            source: sampleSourceLayout, destination: sampleDestinationLayout, weights: anyWeightsLayout, bias: hasBias ? biasLayout : nil)
        try OneDNN.check(dnnl_primitive_desc_create(&wpd, &wd, nil, OneDNN.engine, sampleForward.descriptor), "primitive_desc_create (backward weights)")
        let weights = try DNNLPrimitive(wpd!)
        // Backward-data usually wants the forward pass's weight layout: then it reads that copy.
        let dataLayout = data.layout(dnnl_query_weights_md)
        let shared = forwardWeights.sameLayout(as: dataLayout)
        let diffLayout = weights.layout(dnnl_query_diff_weights_md)
        let userDiffWeights = try DNNLMemory(userWeightsLayout, allocate: true)
        let fromDiffWeights = try DNNLPrimitive.reorder(from: diffLayout, to: userWeightsLayout)
        return Training(
            data: data, weights: weights,
            dataWeights: shared ? forwardWeights : try DNNLMemory(dataLayout, allocate: true),
            toDataWeights: shared ? nil : try DNNLPrimitive.reorder(from: userWeightsLayout, to: dataLayout),
            diffWeights: fromDiffWeights == nil ? userDiffWeights : try DNNLMemory(diffLayout, allocate: true),
            userDiffWeights: userDiffWeights,
            fromDiffWeights: fromDiffWeights,
            diffBias: try DNNLMemory(biasLayout, allocate: true),
            sampleSource: try DNNLMemory(sampleSourceLayout, allocate: false),
            sampleDestination: try DNNLMemory(sampleDestinationLayout, allocate: false))
    }

    /// Reorders `kernel` (`[tap][ci][co]`) into the primitives' layouts when it changed.
    private func updateWeights(_ kernel: UnsafeMutablePointer<Float>, version: Int) {
        guard weightsVersion != version else { return }
        userWeights.point(at: kernel)
        toForwardWeights?.execute(stream, [(sf_dnnl_arg_from(), userWeights), (sf_dnnl_arg_to(), forwardWeights)])
        if let t = training {
            t.toDataWeights?.execute(stream, [(sf_dnnl_arg_from(), userWeights), (sf_dnnl_arg_to(), t.dataWeights)])
        }
        weightsVersion = version
    }

    /// `y = conv(x) + b` (x, y channels-last, of ``shape``).
    func forward(_ x: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>,
                 kernel: UnsafeMutablePointer<Float>, version: Int, bias b: UnsafeMutablePointer<Float>?) {
        updateWeights(kernel, version: version)
        source.point(at: x)
        destination.point(at: y)
        var arguments = [(sf_dnnl_arg_src(), source), (sf_dnnl_arg_weights(), forwardWeights), (sf_dnnl_arg_dst(), destination)]
        if let b {
            bias.point(at: b)
            arguments.append((sf_dnnl_arg_bias(), bias))
        }
        forward.execute(stream, arguments)
    }

    /// Adds the weight gradient (in `[tap][ci][co]`) to `kernelGradient` and the bias gradient to
    /// `biasGradient`; writes (or adds, with `accumulate`) the input gradient into `dx`.
    func backward(input x: UnsafeMutablePointer<Float>, outputGradient dy: UnsafeMutablePointer<Float>,
                  inputGradient dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
                  kernel: UnsafeMutablePointer<Float>, version: Int,
                  kernelGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?) throws {
        if training == nil {
            training = try makeTraining()
            weightsVersion = -1
        }
        let t = training!
        updateWeights(kernel, version: version)
        let count = 27 * inputChannels * outputChannels
        let (inputStride, outputStride) = (shape.voxelsPerSample * inputChannels, shape.voxelsPerSample * outputChannels)
        for sample in 0..<shape.batch {
            t.sampleSource.point(at: x + sample * inputStride)
            t.sampleDestination.point(at: dy + sample * outputStride)
            var arguments = [(sf_dnnl_arg_src(), t.sampleSource), (sf_dnnl_arg_diff_dst(), t.sampleDestination), (sf_dnnl_arg_diff_weights(), t.diffWeights)]
            if hasBias { arguments.append((sf_dnnl_arg_diff_bias(), t.diffBias)) }
            t.weights.execute(stream, arguments)
            t.fromDiffWeights?.execute(stream, [(sf_dnnl_arg_from(), t.diffWeights), (sf_dnnl_arg_to(), t.userDiffWeights)])
            let g = t.userDiffWeights.data
            for i in 0..<count { kernelGradient[i] += g[i] }
            if let biasGradient {
                let db = t.diffBias.data
                for o in 0..<outputChannels { biasGradient[o] += db[o] }
            }
        }
        destination.point(at: dy)
        guard let dx else { return }
        let voxels = shape.voxels * inputChannels
        let target: UnsafeMutablePointer<Float>
        if accumulate {
            if t.sum == nil { t.sum = .allocate(capacity: voxels) }
            target = t.sum!
        } else {
            target = dx
        }
        source.point(at: target)
        t.data.execute(stream, [(sf_dnnl_arg_diff_dst(), destination), (sf_dnnl_arg_weights(), t.dataWeights), (sf_dnnl_arg_diff_src(), source)])
        if accumulate {
            let sum = UnsafePointer(target)
            Parallel.forEachChunk(voxels, minimumChunk: 1 << 16) { range in
                for i in range { dx[i] += sum[i] }
            }
        }
    }
}
