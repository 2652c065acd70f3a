import CStdioFilterPlugin
import FilterKit
#if canImport(Glibc)
import Glibc
#endif

/// A stage of a plugin, run through its C callbacks: `create` when the input's geometry is known
/// (the output geometry and the halo), `process` box by box on a contiguous copy of the input with
/// its halo (the framework fills the halo past the volume's faces by repeating the edge voxel),
/// `destroy` when the stage goes away.
///
/// A thread-safe plugin is called on pieces of each slab (along Z) from several threads; another
/// one on the whole slab from one thread.
final class PluginStage: HaloStage {
    let name: String
    private let stage: UnsafePointer<sf_stage>
    private let path: String
    /// The parameter values as the plugin receives them (C strings, in its order).
    private let values: [String]
    private var state: UnsafeMutableRawPointer?
    private(set) var halo = SIMD3<Int>(0, 0, 0)
    /// The input's size, for the message of an error.
    private var volume = Size3(x: 0, y: 0, z: 0)

    /// The longest error message a callback may write, with its NUL.
    static let errorCapacity = 1024

    init(stage: UnsafePointer<sf_stage>, path: String, names: [String], values: [String]) throws {
        self.stage = stage
        self.path = path
        self.values = values
        name = String(cString: stage.pointee.name)
        if let validate = stage.pointee.validate {
            do {
                try call("parameters") { error in withCStrings(values) { validate($0, error, PluginStage.errorCapacity) } }
            } catch let FilterError.plugin(_, _, message) {
                // Values the plugin refuses are a usage error, as a built-in stage's are.
                throw FilterError.invalidParameter(
                    name: "\(name) parameters (plugin \(path))", value: zip(names, values).map { "\($0)=\($1)" }.joined(separator: ":"),
                    expected: "values the plugin accepts; it says: \(message.dropFirst("parameters: ".count))")
            }
        }
    }

    deinit { release() }

    private func release() {
        if let state { stage.pointee.destroy?(state) }
        state = nil
    }

    /// Runs a callback with an error buffer; a nonzero return becomes the plugin's error.
    private func call(_ what: String, _ body: (UnsafeMutablePointer<CChar>) -> Int32) throws {
        var error = [CChar](repeating: 0, count: PluginStage.errorCapacity)
        let status = error.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
        guard status == 0 else {
            let text = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let message = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            throw FilterError.plugin(path: path, stage: name, message: "\(what): \(message.isEmpty ? "failed (status \(status), no message)" : message)")
        }
    }

    func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        release()
        volume = input.size
        var geometry = sf_geometry()
        geometry.size = (Int64(input.size.x), Int64(input.size.y), Int64(input.size.z))
        geometry.voxel_size = (Double(input.voxelSize.x), Double(input.voxelSize.y), Double(input.voxelSize.z))
        var output = geometry
        var halo: (Int32, Int32, Int32) = (0, 0, 0)
        var created: UnsafeMutableRawPointer?
        let create = stage.pointee.create!
        try call("create") { error in
            withCStrings(values) { create($0, &geometry, &output, &halo.0, &created, error, PluginStage.errorCapacity) }
        }
        state = created
        guard output.size == geometry.size else {
            throw FilterError.plugin(
                path: path, stage: name,
                message: "create: the output size \(output.size.0)×\(output.size.1)×\(output.size.2) differs from the input's (plugin ABI 1 keeps the size)")
        }
        let h = [halo.0, halo.1, halo.2]
        guard h.allSatisfy({ (0...256).contains($0) }) else {
            throw FilterError.plugin(path: path, stage: name, message: "create: halo \(h.map(String.init).joined(separator: "×")) (expected 0 to 256 per axis)")
        }
        self.halo = SIMD3(Int(halo.0), Int(halo.1), Int(halo.2))
        var info = input
        let v = output.voxel_size
        if [v.0, v.1, v.2].allSatisfy({ $0.isFinite && $0 >= 0 }) { info.voxelSize = SIMD3(Float(v.0), Float(v.1), Float(v.2)) }
        return info
    }

    /// The contiguous copy of the input box and the plugin's own working memory.
    func scratchBytes(forOutput output: Box) -> Int {
        let voxels = inputBox(forOutput: output).size.voxelCount
        return voxels * 4 + Int((stage.pointee.working_bytes_per_voxel * Double(voxels)).rounded(.up))
    }

    func process(_ input: InputRegion, into output: OutputRegion) throws {
        let box = input.box, planeVoxels = input.planeVoxels
        let contiguous = UnsafeMutablePointer<Float>.allocate(capacity: box.size.voxelCount)
        defer { contiguous.deallocate() }
        for k in 0..<box.size.z { (contiguous + k * planeVoxels).update(from: input.plane(k), count: planeVoxels) }
        let out = output.box, sections = out.size.z
        let outputPlane = out.size.x * out.size.y
        let process = stage.pointee.process!
        let state = UnsafeSendable(self.state)
        // Pieces along Z: output sections a..<b need input planes a..<b + 2·halo.z of the copy.
        func run(_ range: Range<Int>) throws {
            var inputBox = sf_box(), outputBox = sf_box()
            inputBox.origin = (Int64(box.origin.x), Int64(box.origin.y), Int64(box.origin.z + range.lowerBound))
            inputBox.size = (Int64(box.size.x), Int64(box.size.y), Int64(range.count + 2 * halo.z))
            outputBox.origin = (Int64(out.origin.x), Int64(out.origin.y), Int64(out.origin.z + range.lowerBound))
            outputBox.size = (Int64(out.size.x), Int64(out.size.y), Int64(range.count))
            let region = "sections \(out.origin.z + range.lowerBound)..<\(out.origin.z + range.upperBound) of \(volume.z)"
            try call("process (\(region))") { error in
                process(state.value, contiguous + range.lowerBound * planeVoxels, &inputBox, output.data + range.lowerBound * outputPlane, &outputBox, error, PluginStage.errorCapacity)
            }
        }
        if stage.pointee.thread_safe != 0 {
            try Parallel.forEachPiece(sections) { _, range in try run(range) }
        } else {
            try run(0..<sections)
        }
    }
}

/// Calls `body` with the texts as a C array of NUL-terminated strings.
func withCStrings<R>(_ texts: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = texts.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
