import CStdioFilterPlugin
import FilterKit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Loads plugins (shared libraries implementing `stdio_filter_plugin.h`) and turns their stages
/// into ``RuntimeStageDescriptor``s, refusing a bad plugin with one line that names it: a missing
/// file, a file that is not a shared library, no entry point, another ABI version, a stage whose
/// name is taken, a parameter schema that does not hold together.
public enum PluginLoader {
    /// The environment variable listing directories of plugins (colon-separated).
    public static let searchPathVariable = "STDIO_FILTER_PLUGIN_PATH"

    private static let loadedStages = Mutex<[RuntimeStageDescriptor]>([])

    /// The stages of every plugin loaded so far.
    public static var stages: [RuntimeStageDescriptor] { loadedStages.withLock { $0 } }

    /// The plugin files in the directories of `$STDIO_FILTER_PLUGIN_PATH` (`*.so`, sorted by name
    /// within each directory); a directory that does not exist is skipped.
    public static func pathsFromEnvironment() -> [String] {
        guard let value = getenv(searchPathVariable).map({ String(cString: $0) }), !value.isEmpty else { return [] }
        var paths: [String] = []
        for directory in value.split(separator: ":").map(String.init) where !directory.isEmpty {
            guard let dir = opendir(directory) else { continue }
            var names: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name.hasSuffix(".so") { names.append(name) }
            }
            closedir(dir)
            paths += names.sorted().map { "\(directory)/\($0)" }
        }
        return paths
    }

    /// Loads `paths` in order; stage names must differ from `reserved` (the built-in stages') and
    /// from each other's.
    public static func load(_ paths: [String], reserved: Set<String>) throws {
        var taken = reserved.union(stages.map(\.name))
        for path in paths {
            let found = try descriptors(of: path, taken: taken)
            taken.formUnion(found.map(\.name))
            loadedStages.withLock { $0 += found }
        }
    }

    private static func fail(_ path: String, _ message: String) -> FilterError {
        .plugin(path: path, stage: nil, message: message)
    }

    static func descriptors(of path: String, taken: Set<String>) throws -> [RuntimeStageDescriptor] {
        var st = stat()
        guard stat(path, &st) == 0 else { throw FilterError.plugin(path: path, stage: nil, message: "cannot open: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw fail(path, "not a regular file") }
        // dlopen searches the library path for a bare name: make it a path.
        let file = path.contains("/") ? path : "./\(path)"
        guard let handle = dlopen(file, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw fail(path, "not a loadable shared library (\(reason))")
        }
        guard let symbol = dlsym(handle, SF_PLUGIN_ENTRY_NAME) else {
            dlclose(handle)
            throw fail(path, "no entry point \(SF_PLUGIN_ENTRY_NAME)() (is it a stdio-filter plugin? see stdio_filter_plugin.h)")
        }
        // The library stays loaded for the process's life: its stages may be used until exit.
        let entry = unsafeBitCast(symbol, to: sf_plugin_entry.self)
        guard let plugin = entry() else { throw fail(path, "\(SF_PLUGIN_ENTRY_NAME)() returned NULL") }
        let abi = plugin.pointee.abi_version
        guard abi == SF_PLUGIN_ABI_VERSION else {
            throw fail(path, "built for plugin ABI version \(abi), this stdio-filter loads version \(SF_PLUGIN_ABI_VERSION) (rebuild it against this stdio_filter_plugin.h)")
        }
        let count = Int(plugin.pointee.stage_count)
        guard count >= 1, count <= 1000, let stages = plugin.pointee.stages else {
            throw fail(path, "declares \(count) stages (expected 1 to 1000 and a stage array)")
        }
        var names = taken
        var result: [RuntimeStageDescriptor] = []
        for i in 0..<count {
            let stage = stages + i
            let descriptor = try PluginStageSchema(stage, path: path).descriptor()
            guard !names.contains(descriptor.name) else {
                throw FilterError.plugin(path: path, stage: descriptor.name, message: "a stage of that name exists already (built in or from another plugin): rename it")
            }
            names.insert(descriptor.name)
            result.append(descriptor)
        }
        return result
    }
}

/// One stage's description read from the plugin and checked.
struct PluginStageSchema {
    let stage: UnsafePointer<sf_stage>
    let path: String

    init(_ stage: UnsafePointer<sf_stage>, path: String) {
        self.stage = stage
        self.path = path
    }

    static func isName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, ("a"..."z").contains(first), s.count <= 64 else { return false }
        return s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    func descriptor() throws -> RuntimeStageDescriptor {
        let s = stage.pointee
        guard let namePointer = s.name else { throw FilterError.plugin(path: path, stage: nil, message: "a stage has no name") }
        let name = String(cString: namePointer)
        func bad(_ message: String) -> FilterError { .plugin(path: path, stage: name, message: message) }
        guard PluginStageSchema.isName(name) else { throw bad("the stage name must be lower case letters, digits and '-', starting with a letter") }
        guard s.create != nil, s.process != nil, s.destroy != nil else { throw bad("create, process and destroy are required callbacks") }
        guard s.parameter_count >= 0, s.parameter_count <= 64, s.parameter_count == 0 || s.parameters != nil else {
            throw bad("parameter_count \(s.parameter_count) (expected 0 to 64 with a parameter array)")
        }
        guard s.working_bytes_per_voxel.isFinite, s.working_bytes_per_voxel >= 0, s.working_bytes_per_voxel <= 1_048_576 else {
            throw bad("working_bytes_per_voxel \(s.working_bytes_per_voxel) (expected 0 to 1 MiB)")
        }
        var parameters: [StageParameter] = []
        for k in 0..<Int(s.parameter_count) {
            let p = try parameter(s.parameters! + k, stage: name)
            guard !parameters.contains(where: { $0.name == p.name }) else { throw bad("parameter \(p.name) is declared twice") }
            parameters.append(p)
        }
        let summary = s.summary.map { String(cString: $0) } ?? ""
        let pointer = UnsafeSendable(stage), origin = path, checked = parameters
        return RuntimeStageDescriptor(name: name, summary: summary, parameters: parameters, origin: origin) { given in
            try PluginStage(stage: pointer.value, path: origin, names: checked.map(\.name), values: checked.map { given.text($0.name) })
        }
    }

    private func parameter(_ pointer: UnsafePointer<sf_parameter>, stage: String) throws -> StageParameter {
        let p = pointer.pointee
        let name = p.name.map { String(cString: $0) } ?? ""
        func bad(_ message: String) -> FilterError { .plugin(path: path, stage: stage, message: "parameter '\(name)': \(message)") }
        guard PluginStageSchema.isName(name) else { throw bad("a parameter name must be lower case letters, digits and '-', starting with a letter") }
        let unit = p.unit.map { String(cString: $0) } ?? ""
        let help = p.help.map { String(cString: $0) } ?? ""
        let kind: StageParameter.Kind
        switch p.kind {
        case Int32(SF_PARAMETER_NUMBER.rawValue):
            guard p.minimum.isFinite, p.maximum.isFinite, p.minimum <= p.maximum else { throw bad("range \(p.minimum)…\(p.maximum) is not a finite range") }
            kind = .number(p.minimum...p.maximum)
        case Int32(SF_PARAMETER_INTEGER.rawValue):
            guard p.minimum.isFinite, p.maximum.isFinite, p.minimum <= p.maximum, abs(p.minimum) < 1e15, abs(p.maximum) < 1e15,
                  p.minimum == p.minimum.rounded(), p.maximum == p.maximum.rounded() else {
                throw bad("range \(p.minimum)…\(p.maximum) is not a range of whole numbers")
            }
            kind = .integer(Int(p.minimum)...Int(p.maximum))
        case Int32(SF_PARAMETER_CHOICE.rawValue):
            let words = (p.choices.map { String(cString: $0) } ?? "").split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard !words.isEmpty, words.allSatisfy({ !$0.isEmpty && !$0.contains(":") }) else { throw bad("a choice needs its words, comma-separated") }
            kind = .choice(words)
        case Int32(SF_PARAMETER_STRING.rawValue):
            kind = .text
        default:
            throw bad("unknown kind \(p.kind) (1 number, 2 integer, 3 choice, 4 string)")
        }
        let parameter = StageParameter(name, kind, default: p.default_value.map { String(cString: $0) }, unit: unit, help: help)
        if let value = parameter.defaultValue {
            guard parameter.accepts(value) else { throw bad("its default '\(value)' is not \(parameter.expectation)") }
        }
        return parameter
    }
}

/// A pointer that is only read, shared between threads.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
