import Foundation
import Testing
@testable import FilterKit

/// Where the shared corpus lives (`../shared/corpus` beside the checkout), or nil when absent.
let corpusDirectory: URL? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let corpus = root.deletingLastPathComponent().appendingPathComponent("shared/corpus/mrc")
    return FileManager.default.fileExists(atPath: corpus.path) ? corpus : nil
}()

let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// One file's entry in an expectation table written by a `scripts/*-corpus-expectations.py` oracle.
protocol CorpusEntry: Decodable, Sendable {
    /// The file, relative to its corpus folder (the table's key).
    var file: String { get set }
}

/// The entries of `Fixtures/<name>` (a JSON object keyed by file), sorted by file; empty if absent.
func loadCorpusTable<Entry: CorpusEntry>(_ name: String) -> [Entry] {
    guard let data = try? Data(contentsOf: fixturesDirectory.appendingPathComponent(name)),
        let table = try? JSONDecoder().decode([String: Entry].self, from: data)
    else { return [] }
    return table.sorted { $0.key < $1.key }.map { key, value in
        var entry = value
        entry.file = key
        return entry
    }
}

/// The exact checksum the corpus oracle computes: Σ bits(vᵢ)·(2i+1) mod 2⁶⁴.
func orderedChecksum(_ values: UnsafeBufferPointer<Float>) -> UInt64 {
    var sum: UInt64 = 0
    for (i, v) in values.enumerated() {
        sum = sum &+ UInt64(v.bitPattern) &* (UInt64(i) &* 2 &+ 1)
    }
    return sum
}

/// A fresh directory under the system temporary directory, removed by the caller.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("filterkit-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Reads a whole volume through ``MRCReader``.
func readVolume(_ path: String) throws -> (MRCReader, [Float]) {
    let reader = try MRCReader(source: try InputSource.open(path))
    var values = [Float](repeating: .nan, count: reader.info.size.voxelCount)
    try values.withUnsafeMutableBufferPointer { buffer in
        try reader.readSections(0..<reader.info.size.z, into: buffer.baseAddress!)
    }
    return (reader, values)
}

/// Builds an MRC file's bytes from header edits and raw data bytes (for malformed inputs).
func mrcBytes(
    nx: Int32 = 4, ny: Int32 = 3, nz: Int32 = 2, mode: Int32 = 2, bigEndian: Bool = false,
    edit: (inout MRCHeader) -> Void = { _ in }, data: [UInt8]? = nil
) -> [UInt8] {
    var h = MRCHeader()
    h.isBigEndian = bigEndian
    h.setInt32(nx, at: 0)
    h.setInt32(ny, at: 4)
    h.setInt32(nz, at: 8)
    h.setInt32(mode, at: 12)
    for k in 0..<3 { h.setInt32(Int32(k + 1), at: 64 + 4 * k) }
    h.setBytes(Array("MAP ".utf8), at: 208)
    h.setBytes(bigEndian ? [0x11, 0x11, 0, 0] : [0x44, 0x44, 0, 0], at: 212)
    edit(&h)
    let bytesPerVoxel: Int32 = [0: 1, 1: 2, 2: 4, 6: 2, 12: 2][mode] ?? 4
    let payload = data ?? [UInt8](repeating: 0, count: Int(max(0, nx) * max(0, ny) * max(0, nz) * bytesPerVoxel))
    return h.bytes + payload
}

func write(_ bytes: [UInt8], to url: URL) throws {
    try Data(bytes).write(to: url)
}

/// The read end of a pipe that a background thread fills with `data` and then closes.
func pipeFeeding(_ data: Data) throws -> Int32 {
    signal(SIGPIPE, SIG_IGN)  // readers that stop early must not kill the test process
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { throw FilterError.system(source: "pipe", operation: "pipe", errno: errno) }
    let writeEnd = fds[1]
    let bytes = [UInt8](data)
    let writer = Thread {
        bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Foundation.write(writeEnd, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { break }
                off += n
            }
        }
        close(writeEnd)
    }
    writer.start()
    return fds[0]
}
