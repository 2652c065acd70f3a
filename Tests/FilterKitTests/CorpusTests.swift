import Foundation
import Testing
@testable import FilterKit

/// What `scripts/mrc-corpus-expectations.py` says a corpus file must read as.
struct CorpusExpectation: CorpusEntry, CustomTestStringConvertible {
    var file: String = ""
    let status: String
    let reason: String?
    let size: [Int]?
    let type: String?
    let voxel_size: [Float]?
    let origin: [Float]?
    let checksum: String?
    let min: Float?
    let max: Float?

    var testDescription: String { file }

    enum CodingKeys: String, CodingKey {
        case status, reason, size, type, voxel_size, origin, checksum, min, max
    }

    static let all: [CorpusExpectation] = loadCorpusTable("mrc-corpus-expected.json")
}

@Suite("MRC corpus (../shared/corpus/mrc)", .enabled(if: corpusDirectory != nil, "shared corpus absent: ../shared/corpus/mrc not found"))
struct CorpusTests {
    @Test("the expectation table covers every corpus file")
    func tableCoversCorpus() throws {
        let corpus = try #require(corpusDirectory)
        var files: [String] = []
        for folder in try FileManager.default.contentsOfDirectory(atPath: corpus.path) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: corpus.appendingPathComponent(folder).path, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            files += try FileManager.default.contentsOfDirectory(atPath: corpus.appendingPathComponent(folder).path).map { "\(folder)/\($0)" }
        }
        #expect(Set(files) == Set(CorpusExpectation.all.map(\.file)))
        #expect(files.count == 56)
    }

    @Test("each file reads as the oracle says, or is refused for the oracle's reason", arguments: CorpusExpectation.all)
    func readsLikeOracle(_ expected: CorpusExpectation) throws {
        let path = try #require(corpusDirectory).appendingPathComponent(expected.file).path
        if expected.status == "refused" {
            let error = #expect(throws: FilterError.self) { _ = try readVolume(path) }
            let message = "\(error.map { "\($0)" } ?? "")"
            #expect(message.contains(path))
            #expect(!message.contains("\n"))
            switch expected.reason {
            case "truncated": #expect(message.contains("truncated"))
            case "Fourier transform": #expect(message.contains("complex") && message.contains("Fourier transform"))
            default: Issue.record("unknown refusal reason \(expected.reason ?? "nil")")
            }
            return
        }
        let (reader, values) = try readVolume(path)
        let info = reader.info
        #expect([info.size.x, info.size.y, info.size.z] == expected.size)
        #expect(info.elementType.rawValue == expected.type)
        #expect([info.voxelSize.x, info.voxelSize.y, info.voxelSize.z] == expected.voxel_size)
        #expect([info.origin.x, info.origin.y, info.origin.z] == expected.origin)
        let sum = values.withUnsafeBufferPointer(orderedChecksum)
        #expect(String(sum) == expected.checksum, "data differ from the oracle (min \(values.min() ?? 0) vs \(expected.min ?? 0), max \(values.max() ?? 0) vs \(expected.max ?? 0))")
    }

    @Test("a pipe delivers the same values as the file", arguments: ["generated/mrcfile__mode2_float32_bigendian_vol_8x6x4.mrc", "synthetic/syn__seri_exthdr_tilt_angles_mode1_8x6x3.st", "synthetic/syn__axis_order_crs312_4x8x6.mrc"])
    func pipeEqualsFile(_ file: String) throws {
        let path = try #require(corpusDirectory).appendingPathComponent(file).path
        let (_, fromFile) = try readVolume(path)
        let source = try InputSource.adopting(fileDescriptor: try pipeFeeding(Data(contentsOf: URL(fileURLWithPath: path))), name: "pipe")
        #expect(!source.isSeekable)
        let reader = try MRCReader(source: source)
        var fromPipe = [Float](repeating: .nan, count: reader.info.size.voxelCount)
        try fromPipe.withUnsafeMutableBufferPointer { try reader.readSections(0..<reader.info.size.z, into: $0.baseAddress!) }
        #expect(fromPipe == fromFile)
    }

    @Test("compressed files are decompressed on the fly", arguments: ["real/mrcfile__EMD-3197.map.bz2", "real/mrcfile__emd_3197.map.gz"])
    func compressed(_ file: String) throws {
        let corpus = try #require(corpusDirectory)
        let (plainReader, plain) = try readVolume(corpus.appendingPathComponent("real/mrcfile__EMD-3197.map").path)
        let (reader, values) = try readVolume(corpus.appendingPathComponent(file).path)
        #expect(values == plain)
        #expect(reader.info == plainReader.info)
    }
}
