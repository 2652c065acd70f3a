import Foundation
import Testing
@testable import FilterKit

/// The TIFF corpus table uses the MRC table's entry type (no origin: TIFF has none).
extension CorpusExpectation {
    static let tiff: [CorpusExpectation] = loadCorpusTable("tiff-corpus-expected.json")
}

let tiffCorpusDirectory: URL? = corpusDirectory.map { $0.deletingLastPathComponent().appendingPathComponent("tiff") }

/// Reads a whole volume in whatever format the file is.
func readAnyVolume(_ source: InputSource, selection: TIFFSelection = TIFFSelection()) throws -> (VolumeReader, [Float]) {
    let reader = try VolumeFormat.openReader(source, memoryBudget: 256 << 20, selection: selection)
    var values = [Float](repeating: .nan, count: reader.info.size.voxelCount)
    try values.withUnsafeMutableBufferPointer { try reader.readSections(0..<reader.info.size.z, into: $0.baseAddress!) }
    return (reader, values)
}

@Suite("TIFF corpus (../shared/corpus/tiff)", .enabled(if: tiffCorpusDirectory.map { FileManager.default.fileExists(atPath: $0.path) } ?? false, "shared corpus absent: ../shared/corpus/tiff not found"))
struct TIFFCorpusTests {
    @Test("the expectation table covers every corpus file")
    func tableCoversCorpus() throws {
        let corpus = try #require(tiffCorpusDirectory)
        var files: [String] = []
        for folder in ["real", "generated"] {
            files += try FileManager.default.contentsOfDirectory(atPath: corpus.appendingPathComponent(folder).path).map { "\(folder)/\($0)" }
        }
        #expect(Set(files) == Set(CorpusExpectation.tiff.map(\.file)))
        #expect(files.count == 31)
    }

    @Test("each file reads as tifffile says (shape, type, voxel size, every value), or is refused", arguments: CorpusExpectation.tiff)
    func readsLikeOracle(_ expected: CorpusExpectation) throws {
        let path = try #require(tiffCorpusDirectory).appendingPathComponent(expected.file).path
        if expected.status == "refused" {
            let error = #expect(throws: FilterError.self) { _ = try readAnyVolume(InputSource.open(path)) }
            let message = "\(error.map { "\($0)" } ?? "")"
            #expect(message.hasPrefix(path))
            #expect(message.contains("samples per pixel"))
            #expect(!message.contains("\n"))
            return
        }
        for viaPipe in [false, true] {
            let source = viaPipe
                ? try InputSource.adopting(fileDescriptor: try pipeFeeding(Data(contentsOf: URL(fileURLWithPath: path))), name: "pipe")
                : try InputSource.open(path)
            let (reader, values) = try readAnyVolume(source)
            let info = reader.info
            #expect([info.size.x, info.size.y, info.size.z] == expected.size, "pipe: \(viaPipe)")
            #expect(info.elementType.rawValue == expected.type)
            let v = info.voxelSize, e = expected.voxel_size ?? []
            #expect(e.count == 3 && (0..<3).allSatisfy { abs(v[$0] - e[$0]) <= 1e-5 * max(1, e[$0]) }, "voxel size \(v) vs \(e)")
            #expect(String(values.withUnsafeBufferPointer(orderedChecksum)) == expected.checksum, "pipe: \(viaPipe)")
        }
    }

    @Test("the corpus hyperstack reads as 3 slices of its first channel and frame")
    func corpusHyperstack() throws {
        let path = try #require(tiffCorpusDirectory).appendingPathComponent("generated/imagej-1.53t__uint8_hyperstack_c2z3t2_32x24.tif").path
        let reader = try TIFFReader(source: InputSource.open(path))
        #expect(reader.layout.contains("2 channel(s) × 3 slices × 2 frame(s)"))
        #expect(reader.info.size == Size3(x: 32, y: 24, z: 3))
    }
}

@Suite("TIFF hyperstacks")
struct TIFFHyperstackTests {
    @Test("channels and frames select the right planes (C fastest, then Z, then T); others are refused")
    func selection() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 2 channels × 3 slices × 2 frames; every plane holds its own index.
        let size = Size3(x: 5, y: 4, z: 12)
        let values = (0..<size.voxelCount).map { Float($0 / size.sectionVoxels) }
        let path = dir.appendingPathComponent("hyper.tif").path
        let writer = try TIFFWriter(
            target: OutputTarget.create(path, protecting: []), info: VolumeInfo(size: size, elementType: .uint8), operation: "test",
            compression: .none, description: "ImageJ=1.53t\nimages=12\nchannels=2\nslices=3\nframes=2\nhyperstack=true\n")
        var copy = values
        try copy.withUnsafeMutableBufferPointer { try writer.writeRows(size.y * size.z, from: $0.baseAddress!) }
        try writer.finish()
        for (c, t) in [(1, 1), (2, 1), (1, 2), (2, 2)] {
            let (reader, planes) = try readAnyVolume(InputSource.open(path), selection: TIFFSelection(channel: c, frame: t))
            #expect(reader.info.size == Size3(x: 5, y: 4, z: 3))
            let indices = (0..<3).map { Int(planes[$0 * size.sectionVoxels]) }
            #expect(indices == (0..<3).map { (t - 1) * 6 + $0 * 2 + (c - 1) }, "channel \(c), frame \(t)")
        }
        #expect(throws: FilterError.invalidParameter(name: "channel", value: "3", expected: "1…2 (\(path) has 2 channels)")) {
            _ = try TIFFReader(source: InputSource.open(path), selection: TIFFSelection(channel: 3))
        }
        #expect(throws: FilterError.self) { _ = try TIFFReader(source: InputSource.open(path), selection: TIFFSelection(frame: 3)) }
    }
}

@Suite("TIFF writing")
struct TIFFWriterTests {
    static func write(_ values: [Float], _ info: VolumeInfo, to path: String, compression: TIFFWriter.Compression) throws {
        let writer = try TIFFWriter(target: OutputTarget.create(path, protecting: []), info: info, operation: "test", compression: compression)
        var copy = values
        try copy.withUnsafeMutableBufferPointer { try writer.writeRows(info.size.y * info.size.z, from: $0.baseAddress!) }
        try writer.finish()
    }

    @Test("every type and compression round-trips exactly, with the voxel size", arguments: ElementType.allCases.filter { $0 != .uint4 }, TIFFWriter.Compression.allCases)
    func roundTrip(_ type: ElementType, _ compression: TIFFWriter.Compression) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let size = Size3(x: 37, y: 29, z: 5)
        let values = (0..<size.voxelCount).map { i -> Float in
            let v = sin(Float(i) * 0.1) * 100 + 50
            return type.isInteger ? v.rounded() : (type == .float16 ? HalfFloat.value(from: HalfFloat.bits(from: v)) : v)
        }.map { min(max($0, type.representableRange.lowerBound), type.representableRange.upperBound) }
        let info = VolumeInfo(size: size, elementType: type, voxelSize: SIMD3(10.5, 10.5, 21))
        let path = dir.appendingPathComponent("out.tif").path
        try Self.write(values, info, to: path, compression: compression)
        let (reader, back) = try readAnyVolume(InputSource.open(path))
        #expect(reader.info.size == size)
        #expect(reader.info.elementType == type)
        #expect(back == values)
        #expect(abs(reader.info.voxelSize.x - 10.5) < 1e-4 && abs(reader.info.voxelSize.z - 21) < 1e-4, "\(reader.info.voxelSize)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.tif"])
    }

    @Test("the ImageJ description names the stack, unit and spacing")
    func imagejDescription() {
        let text = ImageJDescription.text(slices: 7, unit: "nm", spacing: 2.5)
        #expect(text == "ImageJ=1.11a\nimages=7\nslices=7\nunit=nm\nspacing=2.5\nloop=false\n")
        let parsed = ImageJDescription(text)
        #expect(parsed?.sliceCount == 7 && parsed?.unit == "nm" && parsed?.spacing == 2.5)
        #expect(ImageJDescription("ImageJ=1.53t\nimages=12\nchannels=2\nslices=3\nframes=2\nunit=\\u00C5\n")?.unit == "Å")
        #expect(ImageJDescription("ImageJ=1.53t\nimages=-3\n") == nil)
        #expect(ImageJDescription("not imagej\nimages=3") == nil)
    }

    @Test("BigTIFF is chosen at open time when the data may pass 4 GiB, and an aborted file leaves nothing")
    func bigTIFFChoice() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (z, big) in [(254, false), (255, true)] {  // 2048² float32 sections: 16 MiB each
            let info = VolumeInfo(size: Size3(x: 2048, y: 2048, z: z), elementType: .float32)
            let writer = try TIFFWriter(target: OutputTarget.create(dir.appendingPathComponent("big.tif").path, protecting: []), info: info, operation: "test")
            #expect(writer.isBigTIFF == big, "\(z) sections")
            writer.abort()
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}

@Suite("ImageJ's single-IFD layout for stacks over 4 GiB")
struct ImageJContiguousTests {
    /// A classic little-endian TIFF with one IFD describing `images` uint16 planes stored back to back.
    static func contiguousFile(width: Int, height: Int, images: Int, writtenPlanes: Int) -> Data {
        let description = Array("ImageJ=1.53t\nimages=\(images)\nslices=\(images)\nunit=nm\nspacing=3\nloop=false\n\0".utf8)
        var d = Data()
        func u16(_ v: Int) { d.append(contentsOf: withUnsafeBytes(of: UInt16(v).littleEndian, Array.init)) }
        func u32(_ v: Int) { d.append(contentsOf: withUnsafeBytes(of: UInt32(v).littleEndian, Array.init)) }
        let entries = 11, ifdBytes = 2 + entries * 12 + 4
        let descriptionOffset = 8 + ifdBytes, dataOffset = descriptionOffset + description.count
        let planeBytes = width * height * 2
        d.append(contentsOf: [0x49, 0x49]); u16(42); u32(8)
        u16(entries)
        for (tag, type, count, value) in [
            (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 16), (259, 3, 1, 1), (262, 3, 1, 1),
            (270, 2, description.count, descriptionOffset), (273, 4, 1, dataOffset), (277, 3, 1, 1),
            (278, 4, 1, height), (279, 4, 1, planeBytes), (339, 3, 1, 1),
        ] {
            u16(tag); u16(type); u32(count)
            if type == 3 { u16(value); u16(0) } else { u32(value) }
        }
        u32(0)
        d.append(contentsOf: description)
        for k in 0..<writtenPlanes {
            for i in 0..<(width * height) { u16(k * 1000 + i) }
        }
        return d
    }

    @Test("planes past the one IFD are read from their computed offsets; a short file is refused")
    func contiguous() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("big.tif").path
        try Self.contiguousFile(width: 6, height: 5, images: 4, writtenPlanes: 4).write(to: URL(fileURLWithPath: path))
        let (reader, values) = try readAnyVolume(InputSource.open(path))
        #expect(reader.info.size == Size3(x: 6, y: 5, z: 4))
        #expect((reader as? TIFFReader)?.layout.contains("ImageJ contiguous layout") == true)
        #expect((0..<4).map { Int(values[$0 * 30 + 7]) } == [7, 1007, 2007, 3007])
        try Self.contiguousFile(width: 6, height: 5, images: 4, writtenPlanes: 3).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: FilterError.self) { _ = try readAnyVolume(InputSource.open(path)) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("truncated"))
    }
}
