import Foundation
import Testing
import FilterKit

/// Bad input: one line naming the file and what is wrong, exit status 1, no output left behind.
@Suite("errors and exit codes (built binary)")
struct ErrorEndToEndTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        /// Bytes of the input file (nil: use `inputPath` as given).
        let bytes: [UInt8]?
        let expected: String
        var testDescription: String { name }
    }

    static func header(_ edit: (inout MRCHeader) -> Void, data: Int = 4 * 3 * 2 * 4) -> [UInt8] {
        var h = MRCHeader()
        h.setInt32(4, at: 0)
        h.setInt32(3, at: 4)
        h.setInt32(2, at: 8)
        h.setInt32(2, at: 12)
        for k in 0..<3 { h.setInt32(Int32(k + 1), at: 64 + 4 * k) }
        h.setBytes(Array("MAP ".utf8), at: 208)
        h.setBytes([0x44, 0x44, 0, 0], at: 212)
        edit(&h)
        return h.bytes + [UInt8](repeating: 0, count: data)
    }

    static let cases: [Case] = [
        Case(name: "truncated data", bytes: header({ _ in }, data: 50), expected: "truncated at byte offset 1074: data block needs 96 bytes from offset 1024"),
        Case(name: "NX ≤ 0", bytes: header { $0.setInt32(-4, at: 0) }, expected: "bad MRC header: NX at byte 0 is -4"),
        Case(name: "NZ absurd", bytes: header { $0.setInt32(Int32.max, at: 8) }, expected: "bad MRC header: NZ at byte 8 is 2147483647"),
        Case(name: "unknown mode", bytes: header { $0.setInt32(9, at: 12) }, expected: "bad MRC header: MODE at byte 12 is 9"),
        Case(name: "complex mode", bytes: header { $0.setInt32(4, at: 12) }, expected: "MRC mode 4 (complex float32) is a Fourier transform"),
        Case(name: "NSYMBT past EOF and data short", bytes: header({ $0.setInt32(4096, at: 92) }, data: 40), expected: "truncated"),
        Case(name: "empty file", bytes: [], expected: "truncated at byte offset 0: empty input, expected a 1024-byte MRC header"),
        Case(name: "not an MRC file", bytes: Array("hello, this is text and not a volume".utf8) + [UInt8](repeating: 65, count: 2000), expected: "bad MRC header"),
    ]

    @Test("bad input files", arguments: cases)
    func badFile(_ c: Case) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.mrc")
        try Data(c.bytes!).write(to: input)
        let output = dir.appendingPathComponent("out.mrc").path
        for script in ["$B convert \(q(input.path)) \(q(output))", "$B convert < \(q(input.path)) > /dev/null", "cat \(q(input.path)) | $B convert - \(q(output))"] {
            let run = try shell(script)
            #expect(run.status == 1, "\(c.name): \(script)")
            #expect(run.errorLines.count == 1, "\(c.name): one line expected, got \(run.stderr)")
            #expect(run.stderr.contains(c.expected), "\(c.name): \(run.stderr)")
            #expect(run.stderr.hasPrefix("stdio-filter convert: error: "))
            let named = script.hasPrefix("$B convert '") ? input.path : "stdin"
            #expect(run.stderr.contains(named + ":"), "the message names \(named): \(run.stderr)")
            #expect(try files(in: dir) == ["in.mrc"], "\(c.name): nothing but the input may remain")
        }
        #expect(try Data(contentsOf: input) == Data(c.bytes!), "the input is untouched")
    }

    @Test("empty stdin")
    func emptyStdin() throws {
        let run = try shell("$B convert < /dev/null > /dev/null")
        #expect(run.status == 1)
        #expect(run.stderr == "stdio-filter convert: error: stdin: truncated at byte offset 0: empty input, expected a 1024-byte MRC header\n")
    }

    @Test("a directory as input, a missing or unwritable output directory")
    func paths() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 4, y: 4, z: 4), in: dir)
        let checks: [(String, String)] = [
            ("$B convert \(q(dir.path)) out.mrc", "\(dir.path): is a directory"),
            ("$B convert \(q(input)) \(q(dir.path + "/missing/out.mrc"))", "\(dir.path)/missing/out.mrc: create (in directory \(dir.path)/missing) failed: No such file or directory"),
            ("$B convert \(q(input)) /proc/out.mrc", "/proc/out.mrc: create (in directory /proc) failed"),
            ("$B info \(q(dir.path))", "is a directory"),
        ]
        for (script, expected) in checks {
            let run = try shell(script, in: dir)
            #expect(run.status == 1, "\(script)")
            #expect(run.errorLines.count == 1 && run.stderr.contains(expected), "\(script): \(run.stderr)")
        }
        #expect(try files(in: dir) == ["in.mrc"])
    }

    @Test("refuses to overwrite its input, by path, link, or redirection")
    func selfOverwrite() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 8, y: 8, z: 8), in: dir)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("link.mrc").path, withDestinationPath: input)
        for script in ["$B convert \(q(input)) \(q(input))", "$B convert \(q(input)) link.mrc", "$B convert in.mrc 1<>in.mrc < in.mrc"] {
            let run = try shell(script, in: dir)
            #expect(run.status == 1, "\(script)")
            #expect(run.stderr.contains("refusing to overwrite the input file"), "\(script): \(run.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before)
        #expect(try files(in: dir) == ["in.mrc", "link.mrc"])
    }

    @Test("usage errors exit with 64")
    func usage() throws {
        for script in ["$B convert --mode 5 a b", "$B convert --frobnicate", "$B convert --mode 2 --type int8 a b", "$B info --memory lots x", "$B nosuchcommand"] {
            let run = try shell(script)
            #expect(run.status == 64, "\(script): \(run.status) \(run.stderr)")
        }
    }

    @Test("the exit status comes from the error's cause wherever the chain finds it: a value past the volume 64, a volume too small 1")
    func statusFromCause() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 6, y: 6, z: 6), in: dir)
        for (script, status, words) in [
            ("$B run --chain gaussian,crop:z=0..9 \(q(input)) out.mrc", Int32(64), "stage crop at setup: invalid crop z"),
            ("$B run --chain gaussian,s2s:steps=1 \(q(input)) out.mrc", 1, "the s2s input size is 6×6×6: expected at least"),
        ] {
            let run = try shell(script, in: dir)
            #expect(run.status == status, "\(script): \(run.status) \(run.stderr)")
            #expect(run.errorLines.count == 1 && run.stderr.contains(words), "\(script): \(run.stderr)")
            #expect(try files(in: dir) == ["in.mrc"], "\(script): no output left")
        }
    }

    @Test("a consumer that closes the pipe early ends the run with a clear error, not a crash")
    func brokenPipe() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 256, y: 256, z: 64), in: dir)
        let status = try shell("($B convert \(q(input)) -; echo \"status=$?\" >&2) | head -c 100 > /dev/null")
        #expect(status.stderr.contains("status=1"), "\(status.stderr)")
        #expect(status.stderr.contains("stdout: write failed: Broken pipe"), "\(status.stderr)")
    }

    @Test("NSYMBT past the end of the file: read anyway, with a warning")
    func bogusNsymbt() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.mrc")
        try Data(ErrorEndToEndTests.header { $0.setInt32(1 << 20, at: 92) }).write(to: input)
        let run = try shell("$B convert \(q(input.path)) out.mrc", in: dir)
        #expect(run.status == 0)
        #expect(run.stderr.contains("warning: NSYMBT = 1048576 runs past the end of the file; extended header ignored"))
        let quiet = try shell("$B convert --quiet \(q(input.path)) out2.mrc", in: dir)
        #expect(quiet.status == 0 && quiet.stderr.isEmpty)
    }
}

@Suite("signals (built binary)")
struct SignalEndToEndTests {
    @Test("SIGINT or SIGTERM mid-run removes the temporary output file", arguments: ["INT", "TERM"])
    func interrupted(_ signal: String) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 64, y: 64, z: 16), in: dir)
        // The header and a little data arrive, then the producer stalls: convert is mid-run.
        let script = """
            mkfifo feed
            ( head -c 20000 \(q(input)); exec sleep 30 ) > feed &
            producer=$!
            $B convert - out.mrc < feed &
            converter=$!
            sleep 1
            ls -a | grep -c stdio-filter- > during.txt
            kill -\(signal) $converter
            wait $converter
            kill $producer
            rm feed
            """
        try shell(script, in: dir)
        let during = try String(contentsOf: dir.appendingPathComponent("during.txt"), encoding: .utf8)
        #expect(during.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "a temporary file exists while running")
        #expect(try files(in: dir) == ["during.txt", "in.mrc"], "nothing is left after the signal")
    }
}
