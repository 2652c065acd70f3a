import Testing
@testable import FilterKit

@Suite("Sample conversion and statistics")
struct SampleCodecTests {
    @Test("integer encoding rounds to nearest, clamps, and counts what it clamped")
    func integerEncoding() {
        var values: [Float] = [-200.6, -1.5, -0.4, 0.5, 1.49, 126.5, 300, .nan]
        var out = [Int8](repeating: 0, count: values.count)
        var stats = RunningStatistics()
        let clamped = values.withUnsafeMutableBufferPointer { v in
            out.withUnsafeMutableBytes { SampleCodec.encode(.int8, from: v.baseAddress!, count: v.count, to: $0.baseAddress!, statistics: &stats) }
        }
        #expect(out == [-128, -2, 0, 1, 1, 127, 127, 0])
        #expect(clamped == 3)
        #expect(stats.minimum == -128 && stats.maximum == 127)
    }

    @Test("every stored type round-trips through decode", arguments: [ElementType.int8, .uint8, .int16, .uint16, .float16, .float32])
    func roundTrip(_ type: ElementType) {
        let range = type.representableRange
        var values: [Float] = (0..<1000).map { i in
            let t = Float(i) / 999
            let v = max(range.lowerBound, -1000) * (1 - t) + min(range.upperBound, 1000) * t
            return type.isInteger ? v.rounded() : v
        }
        let original = values
        var bytes = [UInt8](repeating: 0, count: values.count * type.bitsPerVoxel / 8)
        var stats = RunningStatistics()
        values.withUnsafeMutableBufferPointer { v in
            bytes.withUnsafeMutableBytes { _ = SampleCodec.encode(type, from: v.baseAddress!, count: v.count, to: $0.baseAddress!, statistics: &stats) }
        }
        var decoded = [Float](repeating: 0, count: values.count)
        bytes.withUnsafeBytes { raw in
            decoded.withUnsafeMutableBufferPointer { SampleCodec.decode(type, bigEndian: false, from: raw.baseAddress!, count: $0.count, to: $0.baseAddress!) }
        }
        #expect(decoded == values, "decode(encode(x)) must equal the stored values")
        if type != .float16 { #expect(decoded == original) }
    }

    @Test("4-bit rows: low nibble first, odd widths padded to a byte")
    func fourBit() {
        let row: [UInt8] = [0x21, 0x43, 0x05]
        var out = [Float](repeating: -1, count: 5)
        row.withUnsafeBytes { raw in out.withUnsafeMutableBufferPointer { SampleCodec.decode(.uint4, bigEndian: false, from: raw.baseAddress!, count: 5, to: $0.baseAddress!) } }
        #expect(out == [1, 2, 3, 4, 5])
        #expect(SampleCodec.rowBytes(.uint4, voxels: 5) == 3)
    }

    @Test("statistics stay exact for a large mean and many chunks")
    func statisticsAccuracy() {
        var stats = RunningStatistics()
        var reference = (sum: 0.0, sumSquares: 0.0, n: 0.0)
        var state: UInt64 = 12345
        for _ in 0..<50 {
            var chunk = [Float](repeating: 0, count: 10_000)
            for i in chunk.indices {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                chunk[i] = 30000 + Float(state >> 40) / Float(1 << 24)
                reference.sum += Double(chunk[i])
                reference.n += 1
            }
            chunk.withUnsafeBufferPointer { stats.add($0.baseAddress!, count: $0.count) }
        }
        let mean = reference.sum / reference.n
        // Second pass for the reference variance.
        state = 12345
        for _ in 0..<500_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let d = Double(30000 + Float(state >> 40) / Float(1 << 24)) - mean
            reference.sumSquares += d * d
        }
        #expect(abs(stats.mean - mean) < 1e-9 * mean)
        #expect(abs(stats.standardDeviation - (reference.sumSquares / reference.n).squareRoot()) < 1e-9)
        #expect(stats.count == 500_000)
    }

    @Test("statistics depend on the values and their order, not on how the calls split them (lanes and blocks along the stream)")
    func statisticsSplitting() {
        var state: UInt64 = 99
        let values: [Float] = (0..<(3 * RunningStatistics.blockSize + 1234)).map { i in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            if i == 77_777 { return .nan }  // ignored by min and max, as before
            return Float(Int64(state >> 33) - (1 << 30)) / 1000
        }
        var whole = RunningStatistics()
        values.withUnsafeBufferPointer { whole.add($0.baseAddress!, count: $0.count) }
        for split in [1, 3, 7, 8, 9, 1000, 65_535, 65_537] {
            var parts = RunningStatistics()
            values.withUnsafeBufferPointer { buffer in
                var i = 0
                var size = split
                while i < buffer.count {
                    let n = min(size, buffer.count - i)
                    parts.add(buffer.baseAddress! + i, count: n)
                    i += n
                    size = size % 5 == 0 ? split : size + 1  // uneven pieces
                }
            }
            #expect(parts.count == whole.count, "split \(split)")
            #expect(parts.minimum == whole.minimum && parts.maximum == whole.maximum, "split \(split)")
            #expect(parts.mean.bitPattern == whole.mean.bitPattern && parts.standardDeviation.bitPattern == whole.standardDeviation.bitPattern, "split \(split)")
        }
        for chunk in [1, 1000, RunningStatistics.blockSize + 3, values.count + 5] {
            var chunks = RunningStatistics()
            var calls: [Range<Int>] = []
            chunks.addInChunks(total: values.count, chunk: chunk) { first, count, buffer in
                calls.append(first..<(first + count))
                for i in 0..<count { buffer[i] = values[first + i] }
            }
            #expect(calls.first?.lowerBound == 0 && calls.last?.upperBound == values.count && calls.allSatisfy { $0.count <= chunk }, "chunk \(chunk)")
            #expect(zip(calls, calls.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "chunk \(chunk): in order, no gap")
            #expect(chunks.count == whole.count && chunks.minimum == whole.minimum && chunks.maximum == whole.maximum, "chunk \(chunk)")
            #expect(chunks.mean.bitPattern == whole.mean.bitPattern && chunks.standardDeviation.bitPattern == whole.standardDeviation.bitPattern, "chunk \(chunk)")
        }
        let finite = values.filter { !$0.isNaN }
        #expect(whole.minimum == finite.min()! && whole.maximum == finite.max()!)
        #expect(whole.mean.isNaN, "a NaN makes the mean NaN, as it did")
    }

    @Test("byte counts parse and print with binary units")
    func byteCount() {
        #expect(ByteCount(parsing: "512M")?.bytes == 512 << 20)
        #expect(ByteCount(parsing: "2GiB")?.bytes == 2 << 30)
        #expect(ByteCount(parsing: "1.5g")?.bytes == 3 << 29)
        #expect(ByteCount(parsing: "4096")?.bytes == 4096)
        #expect(ByteCount(parsing: "-1M") == nil)
        #expect(ByteCount(parsing: "lots") == nil)
        #expect("\(ByteCount(768 << 20))" == "768 MiB")
        #expect("\(ByteCount(3 << 29))" == "1.5 GiB")
    }
}

@Suite("Half-precision conversion")
struct HalfFloatTests {
    @Test("half → float matches Float16 for all 65 536 bit patterns")
    func allHalves() {
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = HalfFloat.value(from: bits)
            if expected.isNaN {
                #expect(got.isNaN)
            } else {
                #expect(got.bitPattern == expected.bitPattern, "bits \(bits)")
            }
        }
    }

    @Test("float → half matches Float16 on a dense sweep, ties, subnormals and specials")
    func floatsToHalf() {
        var values: [Float] = [0, -0, .infinity, -.infinity, .nan, 65504, 65519.99, 65520, 1e-8, -1e-8, 5.96e-8, 2.98e-8, 2.99e-8]
        // Every 997th float bit pattern covers all exponents and many mantissas.
        var bits: UInt32 = 0
        while bits < 0xFF80_0000 {
            values.append(Float(bitPattern: bits))
            bits &+= 997
        }
        // Exact ties between neighbouring halves round to even.
        for h in stride(from: UInt16(0x0001), to: 0x7BFF, by: 37) {
            let a = Float(Float16(bitPattern: h)), b = Float(Float16(bitPattern: h + 1))
            values.append((a + b) / 2)
        }
        var mismatches = 0
        for v in values {
            let expected = Float16(v).bitPattern
            let got = HalfFloat.bits(from: v)
            if v.isNaN { #expect(Float16(bitPattern: got).isNaN); continue }
            if got != expected { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}
