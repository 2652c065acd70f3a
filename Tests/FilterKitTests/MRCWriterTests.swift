import Foundation
import Testing
@testable import FilterKit

@Suite("MRC writer")
struct MRCWriterTests {
    func volume(_ size: Size3) -> [Float] {
        (0..<size.voxelCount).map { i in Float((i * 7919) % 1000) / 10 - 20 }
    }

    /// Writes `values` with `info` to `dir/name` and returns the path.
    func writeFile(_ values: [Float], _ info: VolumeInfo, in dir: URL, name: String = "out.mrc") throws -> String {
        let path = dir.appendingPathComponent(name).path
        let writer = try MRCWriter(target: OutputTarget.create(path, protecting: []), info: info, operation: "test write")
        var copy = values
        try copy.withUnsafeMutableBufferPointer { try writer.writeRows(info.size.y * info.size.z, from: $0.baseAddress!) }
        try writer.finish()
        return path
    }

    @Test("header fields of a written volume: MRC2014, geometry, exact statistics, labels")
    func headerFields() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let size = Size3(x: 7, y: 5, z: 3)
        let values = volume(size)
        let info = VolumeInfo(
            size: size, elementType: .float32, voxelSize: SIMD3(2.5, 2.5, 3.0), origin: SIMD3(1, -2, 3.5),
            gridStart: SIMD3(-3, 0, 2), labels: ["first", "second"])
        let path = try writeFile(values, info, in: dir)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.count == 1024 + values.count * 4)
        let h = try MRCHeader(bytes: Array(bytes[0..<1024]), source: path)
        #expect(!h.isBigEndian)
        #expect(h.nversion == 20141)
        #expect(h.mapID == "MAP ")
        #expect(h.machineStamp == [0x44, 0x44, 0, 0])
        #expect(h.ispg == 1)
        #expect(h.mode == 2)
        #expect(h.sampling == SIMD3(7, 5, 3))
        #expect(h.cellLengths == SIMD3(17.5, 12.5, 9))
        #expect(h.axisMap == SIMD3(1, 2, 3))
        #expect(h.nStart == SIMD3(-3, 0, 2))
        #expect(h.rawOrigin == SIMD3(1, -2, 3.5))
        #expect(h.dmin == values.min()! && h.dmax == values.max()!)
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        let std = (values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)).squareRoot()
        #expect(abs(Double(h.dmean) - mean) <= 1e-6 * max(1, abs(mean)))
        #expect(abs(Double(h.rms!) - std) <= 1e-6 * std)
        #expect(h.labels.count == 3)
        #expect(Array(h.labels.prefix(2)) == ["first", "second"])
        #expect(h.labels[2].hasPrefix("stdio-filter test write"))
        let (reader, read) = try readVolume(path)
        #expect(read == values)
        #expect(reader.info.voxelSize == info.voxelSize)
        #expect(reader.info.origin == info.origin)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.mrc"])
    }

    @Test("ISPG and MZ follow what the sections are", arguments: [
        (VolumeKind.image, 1, 0, 1), (.imageStack, 4, 0, 1), (.volume, 4, 1, 4), (.volumeStack(sectionsPerVolume: 2), 4, 401, 2),
    ])
    func kinds(_ kind: VolumeKind, nz: Int, ispg: Int, mz: Int32) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let size = Size3(x: 3, y: 2, z: nz)
        let info = VolumeInfo(size: size, elementType: .int16, voxelSize: SIMD3(2, 2, 2), kind: kind)
        let path = try writeFile(volume(size), info, in: dir)
        let (reader, _) = try readVolume(path)
        #expect(reader.header.ispg == ispg)
        #expect(reader.header.sampling.z == mz)
        #expect(reader.info.voxelSize == SIMD3(2, 2, 2))
        #expect(reader.info.kind == kind)
    }

    @Test("ten labels: the first is kept, the oldest after it dropped, ours appended")
    func labelOverflow() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let size = Size3(x: 2, y: 2, z: 2)
        let info = VolumeInfo(size: size, elementType: .float32, labels: (0..<10).map { "label \($0)" })
        let (reader, _) = try readVolume(try writeFile(volume(size), info, in: dir))
        #expect(reader.header.labels.count == 10)
        #expect(reader.header.labels[0] == "label 0")
        #expect(reader.header.labels[1] == "label 2")
        #expect(reader.header.labels[9].hasPrefix("stdio-filter test write"))
    }

    @Test("mode 0 output carries the IMOD stamp with the signed flag")
    func signedBytes() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let size = Size3(x: 4, y: 2, z: 2)
        let (reader, read) = try readVolume(try writeFile(volume(size), VolumeInfo(size: size, elementType: .int8), in: dir))
        #expect(reader.header.hasIMODStamp && reader.header.imodFlags & 1 == 1)
        #expect(reader.info.elementType == .int8)
        #expect(read == volume(size).map { max(-128, min(127, $0.rounded())) })
    }

    @Test("an aborted write leaves no file; the output must not be the input")
    func abortAndSelfOverwrite() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let size = Size3(x: 4, y: 4, z: 4)
        let path = dir.appendingPathComponent("partial.mrc").path
        let writer = try MRCWriter(target: OutputTarget.create(path, protecting: []), info: VolumeInfo(size: size, elementType: .float32), operation: "t")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).count == 1)  // the temporary file
        writer.abort()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)

        let input = try writeFile(volume(size), VolumeInfo(size: size, elementType: .float32), in: dir, name: "in.mrc")
        let source = try InputSource.open(input)
        let error = #expect(throws: FilterError.self) { try OutputTarget.create(input, protecting: [source]) }
        #expect(error == .outputIsInput(path: input))
        // Through a symbolic link too.
        let link = dir.appendingPathComponent("link.mrc").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: input)
        #expect(throws: FilterError.outputIsInput(path: link)) { try OutputTarget.create(link, protecting: [source]) }
    }

    @Test("a missing output directory is a clear error")
    func missingDirectory() throws {
        let error = #expect(throws: FilterError.self) { try OutputTarget.create("/nonexistent-dir/x.mrc", protecting: []) }
        #expect("\(error!)".hasPrefix("/nonexistent-dir/x.mrc: create (in directory /nonexistent-dir) failed: No such file or directory"))
    }
}
