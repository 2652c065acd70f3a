import FilterKit

extension UNetConfiguration {
    /// The configuration as safetensors metadata entries.
    var metadata: [String: String] {
        [
            "s2s.pools": "\(pools)", "s2s.encoder_channels": "\(encoderChannels)", "s2s.decoder_channels": "\(decoderChannels)",
            "s2s.top": top.map(String.init).joined(separator: ","), "s2s.dropout": "\(dropout)", "s2s.image_channels": "\(imageChannels)",
        ]
    }

    /// The number of weights and biases of this network (without building it).
    var parameterCount: Int {
        convolutionChannels.reduce(0) { $0 + $1.input * $1.output * 27 + $1.output }
    }

    /// Reads a configuration back from metadata; nil when an entry is missing or malformed.
    init?(metadata m: [String: String]) {
        guard let pools = m["s2s.pools"].flatMap(Int.init), let e = m["s2s.encoder_channels"].flatMap(Int.init),
            let d = m["s2s.decoder_channels"].flatMap(Int.init), let dropout = m["s2s.dropout"].flatMap(Float.init),
            let top = m["s2s.top"].map({ $0.split(separator: ",").compactMap { Int($0) } }), top.count == 2,
            (1...8).contains(pools), (1...4096).contains(e), (1...4096).contains(d), top.allSatisfy({ (1...4096).contains($0) }),
            dropout >= 0, dropout < 1
        else { return nil }
        self.init(pools: pools, encoderChannels: e, decoderChannels: d, top: top, dropout: dropout)
        if let c = m["s2s.image_channels"].flatMap(Int.init), c == 1 { imageChannels = c }
    }

    /// Whether `other` has the same layers (whatever its dropout rate).
    func sameWeights(as other: UNetConfiguration) -> Bool {
        var a = self
        a.dropout = other.dropout
        return a == other
    }
}

extension UNet {
    /// The partial convolution's window of ones, a buffer in the PyTorch module's state dict.
    static let onesBufferName = "pconv0.ones"

    /// The name prefix of a distilled student's tensors stored beside the network's
    /// (``save(to:metadata:student:)``); PyTorch's `load_state_dict` of the module ignores them
    /// with `strict=False`.
    public static let studentPrefix = "student."

    /// Saves the weights with PyTorch's names and shapes, the configuration and `metadata`, and
    /// a `student` network of the same configuration under ``studentPrefix``.
    public func save(to path: String, metadata: [String: String] = [:], student: UNet? = nil) throws {
        let ones = [Float](repeating: 1, count: 27)
        try ones.withUnsafeBufferPointer { onesPointer in
            var tensors = parameters.map { (name: $0.name, shape: $0.torchShape, values: UnsafePointer($0.value)) }
            tensors.insert((Self.onesBufferName, [1, 1, 3, 3, 3], onesPointer.baseAddress!), at: 2)
            if let student {
                precondition(student.configuration.sameWeights(as: configuration), "a student has its teacher's shape")
                tensors += student.parameters.map { (name: Self.studentPrefix + $0.name, shape: $0.torchShape, values: UnsafePointer($0.value)) }
            }
            try Safetensors.write(tensors, metadata: metadata.merging(configuration.metadata) { _, ours in ours }, to: path)
        }
    }

    /// Builds a network from a saved model; refuses files whose tensors do not fit their configuration.
    public static func load(from path: String) throws -> (network: UNet, metadata: [String: String]) {
        try load(from: path, prefix: "")!
    }

    /// The distilled student a model holds (``save(to:metadata:student:)``), or nil.
    public static func loadStudent(from path: String) throws -> UNet? {
        try load(from: path, prefix: studentPrefix)?.network
    }

    /// The network whose tensors carry `prefix` (nil when the file holds none); with the empty
    /// prefix the tensors under ``studentPrefix`` are not the network's.
    private static func load(from path: String, prefix: String) throws -> (network: UNet, metadata: [String: String])? {
        let (all, metadata) = try Safetensors.read(path)
        var tensors: [String: Safetensors.Entry] = [:]
        for (name, entry) in all {
            if prefix.isEmpty, !name.hasPrefix(studentPrefix) { tensors[name] = entry }
            if !prefix.isEmpty, name.hasPrefix(prefix) { tensors[String(name.dropFirst(prefix.count))] = entry }
        }
        if !prefix.isEmpty, tensors.isEmpty { return nil }
        guard let configuration = UNetConfiguration(metadata: metadata) else {
            throw FilterError.unsupported(source: path, what: "not a stdio-filter S2S model: the metadata lacks a valid s2s.* configuration", hint: "")
        }
        // The file must hold every weight: check before building a network of that size.
        let stored = tensors.values.reduce(0) { $0 + $1.values.count }
        guard configuration.parameterCount <= stored else {
            throw FilterError.unsupported(
                source: path, what: "its metadata describes a network of \(configuration.parameterCount) parameters but it holds \(stored) values", hint: "")
        }
        let net = UNet(configuration)
        let expected = Set(net.parameters.map(\.name) + [onesBufferName])
        if let extra = tensors.keys.first(where: { !expected.contains($0) }) {
            throw FilterError.unsupported(source: path, what: "tensor \(extra) is not part of the \(configuration.pools)-pool network its metadata describes", hint: "")
        }
        for p in net.parameters {
            guard let t = tensors[p.name] else {
                throw FilterError.unsupported(source: path, what: "tensor \(p.name) is missing", hint: "")
            }
            guard t.shape == p.torchShape else {
                throw FilterError.unsupported(source: path, what: "tensor \(p.name) has shape \(t.shape), the configuration needs \(p.torchShape)", hint: "")
            }
            guard t.values.allSatisfy(\.isFinite) else {
                throw FilterError.unsupported(source: path, what: "tensor \(p.name) holds NaN or infinite values", hint: "")
            }
            t.values.withUnsafeBufferPointer { p.value.update(from: $0.baseAddress!, count: p.count) }
        }
        net.parametersChanged()
        return (net, metadata)
    }
}
