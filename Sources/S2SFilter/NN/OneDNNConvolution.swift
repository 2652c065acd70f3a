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

    /// A primitive of `descriptor`, which it owns from now on.
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

    /// oneDNN's name of the kernel it chose ("jit:avx512_core", "x64:gemm:jit", …).
    var implementation: String {
        var name: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else { return "" }
        return String(cString: name)
    }

    /// The layout the primitive wants for `what` (dnnl_query_src_md, …).
    func layout(_ what: dnnl_query_t) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(descriptor, what, 0)!.pointee
    }

    /// Runs on `stream` with `threads` OpenMP threads (default `Parallel.threads`) and waits.
    func execute(_ stream: dnnl_stream_t, _ arguments: [(Int32, DNNLMemory)], threads: Int = Parallel.threads) {
        omp_set_num_threads(Int32(threads))
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
        let data: DNNLPrimitive
        let dataWeights: DNNLMemory, toDataWeights: DNNLPrimitive?
        /// The weight gradient's primitives: for each worker, one per piece of a sample
        /// (``pieces``; see ``makeWeightGradient()``).
        let weightGradient: [[WeightGradient]]
        /// The pieces of one sample whose weight gradients are computed apart and summed in order.
        let pieces: [SamplePiece]
        /// Threads each weight-gradient primitive runs with.
        let weightGradientThreads: Int
        /// Each piece's weight gradient (`[tap][ci][co]`) then bias gradient, summed in order.
        let pieceGradients: UnsafeMutablePointer<Float>
        /// Floats of scratch a worker needs (the largest of its primitives').
        let scratchFloats: Int
        /// The input gradient before it is added to another (``Convolution3D/backward`` with `accumulate`).
        var sum: UnsafeMutablePointer<Float>?
        init(data: DNNLPrimitive, dataWeights: DNNLMemory, toDataWeights: DNNLPrimitive?,
             weightGradient: [[WeightGradient]], pieces: [SamplePiece], weightGradientThreads: Int, gradientFloats: Int) {
            (self.data, self.dataWeights, self.toDataWeights) = (data, dataWeights, toDataWeights)
            (self.weightGradient, self.pieces, self.weightGradientThreads) = (weightGradient, pieces, weightGradientThreads)
            pieceGradients = .allocate(capacity: gradientFloats)
            scratchFloats = ((weightGradient.joined().map(\.scratchBytes).max() ?? 0) + 3) / 4
        }
        deinit {
            sum?.deallocate()
            pieceGradients.deallocate()
        }
    }

    /// A slab of sections of one sample: the output planes whose weight gradient it sums, and the
    /// input planes they see (one more on each side inside the sample, zero padding outside).
    struct SamplePiece {
        let outputPlanes: Range<Int>, inputPlanes: Range<Int>
        /// Zero planes before and after the input planes (1 at the sample's faces, else 0).
        var paddingBefore: Int { outputPlanes.lowerBound == inputPlanes.lowerBound ? 1 : 0 }
        var paddingAfter: Int { outputPlanes.upperBound == inputPlanes.upperBound ? 1 : 0 }

        /// The whole sample (one piece) or its two halves along D.
        static func pieces(depth: Int, split: Bool) -> [SamplePiece] {
            guard split, depth >= 2 else { return [SamplePiece(outputPlanes: 0..<depth, inputPlanes: 0..<depth)] }
            let middle = depth / 2
            return [SamplePiece(outputPlanes: 0..<middle, inputPlanes: 0..<middle + 1),
                    SamplePiece(outputPlanes: middle..<depth, inputPlanes: middle - 1..<depth)]
        }
    }

    /// One worker's backward-weights primitive for one sample piece, its stream and its buffers.
    private final class WeightGradient {
        let primitive: DNNLPrimitive, stream: dnnl_stream_t
        /// The gradient in the primitive's layout, and our `[tap][ci][co]` view of a sample's slot
        /// (the same memory when the primitive takes our layout).
        let diffWeights: DNNLMemory, userDiffWeights: DNNLMemory, fromDiffWeights: DNNLPrimitive?
        let diffBias: DNNLMemory
        /// One sample of the input and of the output gradient.
        let sampleSource: DNNLMemory, sampleDestination: DNNLMemory
        /// The primitive's scratch (im2col columns, partial sums), pointed at the worker's
        /// column buffer of the network's ``ConvolutionWorkspace`` for each run.
        let scratch: DNNLMemory
        /// Its size in bytes.
        let scratchBytes: Int

        init(_ primitive: DNNLPrimitive, userLayout: dnnl_memory_desc_t, biasLayout: dnnl_memory_desc_t,
             sourceLayout: dnnl_memory_desc_t, destinationLayout: dnnl_memory_desc_t) throws {
            self.primitive = primitive
            var s: dnnl_stream_t?
            try OneDNN.check(dnnl_stream_create(&s, OneDNN.engine, UInt32(dnnl_stream_default_flags.rawValue)), "stream_create")
            stream = s!
            let diffLayout = primitive.layout(dnnl_query_diff_weights_md)
            fromDiffWeights = try DNNLPrimitive.reorder(from: diffLayout, to: userLayout)
            userDiffWeights = try DNNLMemory(userLayout, allocate: false)
            diffWeights = fromDiffWeights == nil ? userDiffWeights : try DNNLMemory(diffLayout, allocate: true)
            diffBias = try DNNLMemory(biasLayout, allocate: false)
            sampleSource = try DNNLMemory(sourceLayout, allocate: false)
            sampleDestination = try DNNLMemory(destinationLayout, allocate: false)
            var scratchLayout = primitive.layout(dnnl_query_scratchpad_md)
            scratchBytes = dnnl_memory_desc_get_size(&scratchLayout)
            scratch = try DNNLMemory(scratchLayout, allocate: false)
        }

        deinit { dnnl_stream_destroy(stream) }

        /// Writes the weight gradient of one piece (`x`, `dy` at its first planes) into `weights`
        /// (`[tap][ci][co]`) and its bias gradient into `bias`, with `threads` threads and
        /// ``scratchBytes`` of `scratch`.
        func run(x: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>,
                 weights: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>?, threads: Int, scratch buffer: UnsafeMutableRawPointer) {
            scratch.point(at: buffer)
            sampleSource.point(at: x)
            sampleDestination.point(at: dy)
            userDiffWeights.point(at: weights)
            var arguments = [(sf_dnnl_arg_src(), sampleSource), (sf_dnnl_arg_diff_dst(), sampleDestination),
                             (sf_dnnl_arg_diff_weights(), diffWeights), (sf_dnnl_arg_scratchpad(), scratch)]
            if let bias {
                diffBias.point(at: bias)
                arguments.append((sf_dnnl_arg_diff_bias(), diffBias))
            }
            primitive.execute(stream, arguments, threads: threads)
            fromDiffWeights?.execute(stream, [(sf_dnnl_arg_from(), diffWeights), (sf_dnnl_arg_to(), userDiffWeights)], threads: threads)
        }
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

    /// A forward convolution primitive (3×3×3, stride 1, "same" padding unless other paddings
    /// are given, before and after along D, H, W) for these layouts.
    private static func makeForward(
        source: dnnl_memory_desc_t, destination: dnnl_memory_desc_t, weights: dnnl_memory_desc_t, bias: dnnl_memory_desc_t?,
        paddingBefore: [Int64] = padding, paddingAfter: [Int64] = padding
    ) throws -> DNNLPrimitive {
        var fd = dnnl_convolution_desc_t()
        var (src, wei, dst) = (source, weights, destination)
        var bia = bias ?? dnnl_memory_desc_t()
        try withUnsafeMutablePointer(to: &bia) { b in
            try OneDNN.check(
                dnnl_convolution_forward_desc_init(
                    &fd, dnnl_forward_training, dnnl_convolution_direct, &src, &wei, bias == nil ? nil : b, &dst,
                    strides, paddingBefore, paddingAfter), "convolution_forward_desc_init")
        }
        var pd: dnnl_primitive_desc_t?
        try OneDNN.check(dnnl_primitive_desc_create(&pd, &fd, nil, OneDNN.engine, nil), "primitive_desc_create (forward)")
        return try DNNLPrimitive(pd!)
    }

    deinit { dnnl_stream_destroy(stream) }

    private func makeTraining() throws -> Training {
        omp_set_num_threads(Int32(Parallel.threads))
        var (src, wei, dst) = (sourceLayout, anyWeightsLayout, destinationLayout)
        let hint = forward.descriptor
        var dd = dnnl_convolution_desc_t()
        try OneDNN.check(
            dnnl_convolution_backward_data_desc_init(&dd, dnnl_convolution_direct, &src, &wei, &dst, Self.strides, Self.padding, Self.padding),
            "convolution_backward_data_desc_init")
        var dpd: dnnl_primitive_desc_t?
        try OneDNN.check(dnnl_primitive_desc_create(&dpd, &dd, nil, OneDNN.engine, hint), "primitive_desc_create (backward data)")
        let data = try DNNLPrimitive(dpd!)
        // Backward-data usually wants the forward pass's weight layout: then it reads that copy.
        let dataLayout = data.layout(dnnl_query_weights_md)
        let shared = forwardWeights.sameLayout(as: dataLayout)
        let (weightGradient, pieces, threads) = try makeWeightGradient()
        return Training(
            data: data,
            dataWeights: shared ? forwardWeights : try DNNLMemory(dataLayout, allocate: true),
            toDataWeights: shared ? nil : try DNNLPrimitive.reorder(from: userWeightsLayout, to: dataLayout),
            weightGradient: weightGradient, pieces: pieces, weightGradientThreads: threads,
            gradientFloats: shape.batch * pieces.count * (27 * inputChannels * outputChannels + outputChannels))
    }

    /// A backward-weights primitive for one piece of a sample (its own forward descriptor as the
    /// hint), made for `threads` threads (oneDNN sizes its work split and scratch when it makes
    /// one), its scratch ours (the workspace's column buffers): oneDNN's own is per thread, made
    /// on the thread that makes the primitive, and this one may run on a worker thread.
    private func makeWeightGradientPrimitive(_ piece: SamplePiece, threads: Int) throws -> WeightGradient {
        omp_set_num_threads(Int32(threads))
        defer { omp_set_num_threads(Int32(Parallel.threads)) }
        let (h, w) = (Int64(shape.height), Int64(shape.width))
        let source = try OneDNN.descriptor([1, Int64(inputChannels), Int64(piece.inputPlanes.count), h, w], dnnl_ndhwc)
        let destination = try OneDNN.descriptor([1, Int64(outputChannels), Int64(piece.outputPlanes.count), h, w], dnnl_ndhwc)
        let before: [Int64] = [Int64(piece.paddingBefore), 1, 1], after: [Int64] = [Int64(piece.paddingAfter), 1, 1]
        var (wei, bia, src, dst) = (anyWeightsLayout, biasLayout, source, destination)
        var wd = dnnl_convolution_desc_t()
        try withUnsafeMutablePointer(to: &bia) { b in
            try OneDNN.check(
                dnnl_convolution_backward_weights_desc_init(
                    &wd, dnnl_convolution_direct, &src, &wei, hasBias ? b : nil, &dst, Self.strides, before, after),
                "convolution_backward_weights_desc_init")
        }
        let hint = try Self.makeForward(
            source: source, destination: destination, weights: anyWeightsLayout, bias: hasBias ? biasLayout : nil, paddingBefore: before, paddingAfter: after)
        var attributes: dnnl_primitive_attr_t?
        try OneDNN.check(dnnl_primitive_attr_create(&attributes), "primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attributes) }
        try OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "primitive_attr_set_scratchpad_mode")
        var wpd: dnnl_primitive_desc_t?
        try OneDNN.check(dnnl_primitive_desc_create(&wpd, &wd, attributes, OneDNN.engine, hint.descriptor), "primitive_desc_create (backward weights)")
        return try WeightGradient(
            try DNNLPrimitive(wpd!), userLayout: userWeightsLayout, biasLayout: biasLayout, sourceLayout: source, destinationLayout: destination)
    }

    /// The weight gradient's primitives: one on all threads for whole samples, or, when oneDNN
    /// chose its GEMM-based kernel (on CPUs without AVX-512), single-threaded ones for each half
    /// of a sample along D, for each worker. That kernel splits its sum over voxels between
    /// threads, so its result depends on the thread count (measured on an AVX2-only EPYC): a
    /// fixed split into pieces, each summed by one thread, keeps training independent of it and
    /// both cores busy, even at batch 1 (distillation).
    private func makeWeightGradient() throws -> ([[WeightGradient]], [SamplePiece], threads: Int) {
        let whole = SamplePiece.pieces(depth: shape.depth, split: false)[0]
        let first = try makeWeightGradientPrimitive(whole, threads: Parallel.threads)
        guard first.primitive.implementation.contains("gemm") else { return ([[first]], [whole], Parallel.threads) }
        let pieces = SamplePiece.pieces(depth: shape.depth, split: true)
        let workers = min(shape.batch * pieces.count, Parallel.threads)
        let primitives = try (0..<workers).map { _ in try pieces.map { try makeWeightGradientPrimitive($0, threads: 1) } }
        return (primitives, pieces, 1)
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
    /// `biasGradient`; writes (or adds, with `accumulate`) the input gradient into `dx`. The
    /// weight-gradient primitives' scratch is `workspace`'s column buffers (one per worker).
    func backward(workspace: ConvolutionWorkspace, input x: UnsafeMutablePointer<Float>, outputGradient dy: UnsafeMutablePointer<Float>,
                  inputGradient dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
                  kernel: UnsafeMutablePointer<Float>, version: Int,
                  kernelGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?) throws {
        if training == nil {
            training = try makeTraining()
            weightsVersion = -1
        }
        let t = training!
        updateWeights(kernel, version: version)
        // Piece by piece (whole samples, or halves of them) into separate slots, then summed in order.
        let count = 27 * inputChannels * outputChannels, slot = count + outputChannels
        let (inputStride, outputStride) = (shape.voxelsPerSample * inputChannels, shape.voxelsPerSample * outputChannels)
        let plane = shape.height * shape.width
        let slots = t.pieceGradients, threads = t.weightGradientThreads, workers = t.weightGradient, pieces = t.pieces
        let items = shape.batch * pieces.count
        let scratchFloats = t.scratchFloats
        Parallel.forEachPiece(items, maximumPieces: min(workers.count, workspace.workers)) { worker, range in
            let scratch = UnsafeMutableRawPointer(workspace.columns(worker: worker, count: scratchFloats))
            for item in range {
                let (sample, p) = item.quotientAndRemainder(dividingBy: pieces.count)
                let piece = pieces[p]
                workers[worker][p].run(
                    x: x + sample * inputStride + piece.inputPlanes.lowerBound * plane * inputChannels,
                    dy: dy + sample * outputStride + piece.outputPlanes.lowerBound * plane * outputChannels,
                    weights: slots + item * slot, bias: hasBias ? slots + item * slot + count : nil, threads: threads, scratch: scratch)
            }
        }
        for item in 0..<items {
            let g = slots + item * slot
            for i in 0..<count { kernelGradient[i] += g[i] }
            if let biasGradient {
                for o in 0..<outputChannels { biasGradient[o] += g[count + o] }
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
