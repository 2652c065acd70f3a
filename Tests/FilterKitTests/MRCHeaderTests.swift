import Foundation
import Testing
@testable import FilterKit

@Suite("MRC header parsing")
struct MRCHeaderTests {
    @Test("byte order follows plausibility, not the machine stamp", arguments: [false, true])
    func byteOrderByPlausibility(bigEndian: Bool) throws {
        // A stamp that claims the other order must not matter when only one order is plausible.
        let bytes = mrcBytes(bigEndian: bigEndian) { h in h.setBytes(bigEndian ? [0x44, 0x44, 0, 0] : [0x11, 0x11, 0, 0], at: 212) }
        let header = try MRCHeader(bytes: Array(bytes[0..<1024]), source: "x")
        #expect(header.isBigEndian == bigEndian)
        #expect(header.nx == 4 && header.ny == 3 && header.nz == 2 && header.mode == 2)
    }

    @Test("the machine stamp breaks a tie between two plausible orders")
    func stampBreaksTie() throws {
        // Bytes 00 01 01 00 read 65792 in both orders, and mode 0 is 0 in both.
        var h = MRCHeader()
        for offset in [0, 4, 8] { h.setBytes([0, 1, 1, 0], at: offset) }
        h.setBytes([0, 0, 0, 0], at: 12)  // mode 0 both ways
        h.setBytes([0x11, 0x11, 0, 0], at: 212)
        #expect(try MRCHeader(bytes: h.bytes, source: "x").isBigEndian)
        h.setBytes([0x44, 0x44, 0, 0], at: 212)
        #expect(try !MRCHeader(bytes: h.bytes, source: "x").isBigEndian)
    }

    @Test("impossible headers name the field, the byte offset and what was expected")
    func implausibleFields() throws {
        let cases: [([UInt8], String)] = [
            (mrcBytes(nx: -5), "NX at byte 0 is -5"),
            (mrcBytes(ny: 0), "NY at byte 4 is 0"),
            (mrcBytes(nz: 1 << 25, data: []), "NZ at byte 8 is 33554432"),
            (mrcBytes(mode: 7), "MODE at byte 12 is 7"),
        ]
        for (bytes, text) in cases {
            let error = #expect(throws: FilterError.self) { try MRCHeader(bytes: Array(bytes[0..<1024]), source: "in.mrc") }
            let message = "\(error!)"
            #expect(message.hasPrefix("in.mrc: bad MRC header: \(text)"), "\(message)")
            #expect(message.contains("expected"))
        }
    }

    @Test("mode 0 signedness: IMOD stamp flag, MRC2014 version, then DMIN/DMAX")
    func mode0Rule() throws {
        func type(_ edit: @escaping (inout MRCHeader) -> Void) throws -> ElementType {
            let h = try MRCHeader(bytes: Array(mrcBytes(mode: 0, edit: edit)[0..<1024]), source: "x")
            return try MRCLayout(header: h, source: "x").elementType
        }
        #expect(try type { $0.setInt32(MRCHeader.imodStampValue, at: 152); $0.setInt32(1, at: 156) } == .int8)
        #expect(try type { $0.setInt32(MRCHeader.imodStampValue, at: 152); $0.setInt32(0, at: 156) } == .uint8)
        #expect(try type { $0.setInt32(20141, at: 108) } == .int8)
        #expect(try type { $0.setFloat32(-3, at: 76); $0.setFloat32(100, at: 80) } == .int8)
        #expect(try type { $0.setFloat32(0, at: 76); $0.setFloat32(200, at: 80) } == .uint8)
        #expect(try type { $0.setFloat32(-1, at: 76); $0.setFloat32(250, at: 80) } == .uint8)
        #expect(try type { $0.setFloat32(-100, at: 76); $0.setFloat32(130, at: 80) } == .int8)
    }

    @Test("complex and RGB modes are refused with the reason")
    func refusedModes() throws {
        for (mode, word) in [(3, "complex int16"), (4, "complex float32"), (16, "RGB")] {
            let h = try MRCHeader(bytes: Array(mrcBytes(mode: Int32(mode))[0..<1024]), source: "f.mrc")
            let error = #expect(throws: FilterError.self) { try MRCLayout(header: h, source: "f.mrc") }
            #expect("\(error!)".contains(word))
        }
    }

    @Test("bad axis maps and negative NSYMBT are refused; zero axis maps read as X,Y,Z")
    func axisMapAndNsymbt() throws {
        let bad = try MRCHeader(bytes: Array(mrcBytes { $0.setInt32(1, at: 68) }[0..<1024]), source: "f")
        #expect("\(#expect(throws: FilterError.self) { try MRCLayout(header: bad, source: "f") }!)".contains("MAPC/MAPR/MAPS at byte 64 is 1,1,3"))
        let zero = try MRCHeader(bytes: Array(mrcBytes { h in for k in 0..<3 { h.setInt32(0, at: 64 + 4 * k) } }[0..<1024]), source: "f")
        #expect(try MRCLayout(header: zero, source: "f").isXYZ)
        let negative = try MRCHeader(bytes: Array(mrcBytes { $0.setInt32(-4, at: 92) }[0..<1024]), source: "f")
        #expect("\(#expect(throws: FilterError.self) { try MRCLayout(header: negative, source: "f") }!)".contains("NSYMBT at byte 92 is -4"))
    }

    @Test("voxel size is CELLA / MXYZ per axis, 0 (unknown) where either is 0")
    func voxelSize() throws {
        let h = try MRCHeader(bytes: Array(mrcBytes { h in
            h.setInt32(4, at: 28); h.setInt32(3, at: 32); h.setInt32(0, at: 36)
            h.setFloat32(10, at: 40); h.setFloat32(0, at: 44); h.setFloat32(5, at: 48)
        }[0..<1024]), source: "f")
        #expect(MRCLayout.voxelSize(h) == SIMD3(2.5, 0, 0))
    }
}

@Suite("MRC reader edge cases")
struct MRCReaderEdgeTests {
    @Test("NSYMBT past the end of a file is ignored like ChimeraX, with a warning")
    func nsymbtPastEndOfFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let values: [Float] = (0..<24).map(Float.init)
        let data = values.withUnsafeBytes { [UInt8]($0) }
        let url = dir.appendingPathComponent("bogus.mrc")
        try write(mrcBytes(edit: { $0.setInt32(160, at: 92) }, data: data), to: url)
        let (reader, read) = try readVolume(url.path)
        #expect(read == values)
        #expect(reader.warnings.contains { $0.contains("NSYMBT = 160") })
        // The same from a pipe: the bytes taken for the extended header are the data.
        let piped = try MRCReader(source: InputSource.adopting(fileDescriptor: pipeFeeding(Data(contentsOf: url)), name: "pipe"))
        var fromPipe = [Float](repeating: 0, count: 24)
        try fromPipe.withUnsafeMutableBufferPointer { try piped.readSections(0..<2, into: $0.baseAddress!) }
        #expect(fromPipe == values)
    }

    @Test("truncation on a pipe names the offset and how many sections arrived")
    func truncatedPipe() throws {
        let bytes = mrcBytes(nz: 4, data: [UInt8](repeating: 0, count: 4 * 3 * 4 * 2 + 10))
        let reader = try MRCReader(source: InputSource.adopting(fileDescriptor: pipeFeeding(Data(bytes)), name: "stdin"))
        var buffer = [Float](repeating: 0, count: 48)
        let error = #expect(throws: FilterError.self) {
            try buffer.withUnsafeMutableBufferPointer { try reader.readSections(0..<4, into: $0.baseAddress!) }
        }
        #expect("\(error!)" == "stdin: truncated at byte offset 1130: data block needs 192 bytes from offset 1024 (4×3×4 float32), only 106 present (2 of 4 sections)")
    }

    @Test("empty input and a short header are clear errors")
    func emptyAndShort() throws {
        let empty = #expect(throws: FilterError.self) { try MRCReader(source: InputSource.adopting(fileDescriptor: pipeFeeding(Data()), name: "stdin")) }
        #expect("\(empty!)".contains("stdin: truncated at byte offset 0: empty input"))
        let short = #expect(throws: FilterError.self) { try MRCReader(source: InputSource.adopting(fileDescriptor: pipeFeeding(Data(count: 300)), name: "stdin")) }
        #expect("\(short!)".contains("byte offset 300: MRC header needs 1024 bytes"))
    }

    @Test("a directory is refused by name")
    func directory() throws {
        let error = #expect(throws: FilterError.self) { try InputSource.open("/tmp") }
        #expect("\(error!)" == "/tmp: is a directory; give a volume file")
    }

    @Test("a pipe reader refuses to go backwards")
    func pipeIsSequential() throws {
        let reader = try MRCReader(source: InputSource.adopting(fileDescriptor: pipeFeeding(Data(mrcBytes())), name: "stdin"))
        var buffer = [Float](repeating: 0, count: 12)
        try buffer.withUnsafeMutableBufferPointer { try reader.readSections(0..<1, into: $0.baseAddress!) }
        #expect(throws: FilterError.self) {
            try buffer.withUnsafeMutableBufferPointer { try reader.readSections(0..<1, into: $0.baseAddress!) }
        }
    }

    @Test("a permuted map larger than the memory budget is refused with the size needed")
    func permutedOverBudget() throws {
        let bytes = mrcBytes(nx: 64, ny: 64, nz: 64, edit: { h in h.setInt32(3, at: 64); h.setInt32(1, at: 68); h.setInt32(2, at: 72) })
        let error = #expect(throws: FilterError.self) {
            try MRCReader(source: InputSource.adopting(fileDescriptor: pipeFeeding(Data(bytes)), name: "stdin"), memoryBudget: 1 << 20)
        }
        #expect("\(error!)".contains("axis order 3,1,2"))
        #expect("\(error!)".contains("needs 2 MiB but the memory budget is 1 MiB"))
    }

    @Test("one table of MRC modes: every stored type written under the mode it is read as; --mode takes the writable ones")
    func modeTable() {
        for type in ElementType.allCases {
            let mode = MRCMode.mode(for: type)
            #expect(MRCMode.type(of: mode) == (type == .uint8 ? .int8 : type), "\(type) → mode \(mode)")
        }
        #expect(MRCMode.outputType(forMode: 12) == .float16 && MRCMode.outputType(forMode: 6) == .uint16)
        for refused in [101, 3, 4, 16, 7, -1] { #expect(MRCMode.outputType(forMode: refused) == nil, "--mode \(refused)") }
        #expect(MRCMode.type(of: 3) == nil && MRCHeader.knownModes.contains(3) && MRCHeader.knownModes.contains(101))
        #expect(MRCMode.readableList == "0, 1, 2, 6, 12 and 101" && MRCMode.outputList == "0, 1, 2, 6 or 12")
    }
}
