import Foundation
import FilterKit

/// The built `stdio-filter`, next to the test bundle (or `$STDIO_FILTER_BIN`).
let binaryPath: String = {
    if let path = ProcessInfo.processInfo.environment["STDIO_FILTER_BIN"] { return path }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("stdio-filter").path
}()

let sharedCorpus: URL? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let corpus = root.deletingLastPathComponent().appendingPathComponent("shared/corpus/mrc")
    return FileManager.default.fileExists(atPath: corpus.path) ? corpus : nil
}()

struct RunResult {
    var status: Int32
    var stdout: Data
    var stderr: String
    /// Non-empty lines of stderr.
    var errorLines: [Substring] { stderr.split(separator: "\n") }
}

/// Runs `/bin/sh -c script` (so tests can build real pipes), with `$B` set to the binary.
@discardableResult
func shell(_ script: String, stdin: Data? = nil, in directory: URL? = nil) throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script]
    var environment = ProcessInfo.processInfo.environment
    environment["B"] = binaryPath
    process.environment = environment
    if let directory { process.currentDirectoryURL = directory }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try process.run()
    if let stdin {
        let handle = input.fileHandleForWriting
        DispatchQueue.global().async {
            try? handle.write(contentsOf: stdin)
            try? handle.close()
        }
    }
    // Read both pipes concurrently so a full stderr cannot block the child.
    let errorData = LockedData()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errorData.set(err.fileHandleForReading.readDataToEndOfFile())
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return RunResult(status: process.terminationStatus, stdout: outData, stderr: String(decoding: errorData.get(), as: UTF8.self))
}

final class LockedData: @unchecked Sendable {
    private var data = Data()
    private let lock = NSLock()
    func set(_ value: Data) { lock.lock(); data = value; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// Quotes a path for /bin/sh.
func q(_ path: String) -> String { "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// Whether python3 with mrcfile can be used to validate outputs.
let mrcfileAvailable: Bool = {
    (try? shell("python3 -c 'import mrcfile'").status) == 0
}()

/// `mrcfile.validate` verdict and its printed reasons.
func mrcfileValidate(_ path: String) throws -> (valid: Bool, report: String) {
    let result = try shell("python3 -c 'import sys, mrcfile; sys.exit(0 if mrcfile.validate(sys.argv[1]) else 1)' \(q(path))")
    return (result.status == 0, String(decoding: result.stdout, as: UTF8.self) + result.stderr)
}

func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("stdio-filter-e2e-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes a float32 test volume with FilterKit and returns its path.
func makeVolume(_ size: Size3, in dir: URL, name: String = "in.mrc", type: ElementType = .float32) throws -> String {
    let path = dir.appendingPathComponent(name).path
    var info = VolumeInfo(size: size, elementType: type, voxelSize: SIMD3(4.5, 4.5, 4.5), origin: SIMD3(10, 20, 30), labels: ["made by the e2e tests"])
    info.kind = .volume
    let writer = try MRCWriter(target: OutputTarget.create(path, protecting: []), info: info, operation: "fixture")
    var values = (0..<size.voxelCount).map { i -> Float in sin(Float(i) * 0.37) * 40 + Float(i % 13) }
    try values.withUnsafeMutableBufferPointer { try writer.writeRows(size.y * size.z, from: $0.baseAddress!) }
    try writer.finish()
    return path
}

func files(in dir: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
}
