import Foundation
import Testing
import FilterKit

@Suite("stdio-filter info (built binary)")
struct InfoEndToEndTests {
    @Test("text dump in IMOD's style and JSON for scripts, from a file and from a pipe")
    func dump() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 12, y: 10, z: 6), in: dir)
        let text = try shell("$B info \(q(input))")
        #expect(text.status == 0)
        let out = String(decoding: text.stdout, as: UTF8.self)
        #expect(out.contains(" Number of columns, rows, sections ......."))
        #expect(out.contains("     12     10      6"))
        #expect(out.contains("Map mode ................................ 2   (32-bit real)"))
        #expect(out.contains("Voxel size X, Y, Z (Å) .................. 4.5, 4.5, 4.5"))
        #expect(out.contains("Sections are ............................ volume"))
        #expect(out.contains("made by the e2e tests"))
        let json = try shell("cat \(q(input)) | $B info --json")
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any]
        #expect(object?["size"] as? [Int] == [12, 10, 6])
        #expect(object?["voxel_size"] as? [Double] == [4.5, 4.5, 4.5])
        #expect(object?["origin"] as? [Double] == [10, 20, 30])
        #expect(object?["source"] as? String == "stdin")
        #expect(object?["nversion"] as? Int == 20141)
    }

    @Test("a truncated file still shows its header, with a warning", .enabled(if: sharedCorpus != nil, "shared corpus absent"))
    func truncatedHeader() throws {
        let run = try shell("$B info \(q(sharedCorpus!.appendingPathComponent("real/IMOD__headerTest.st").path))")
        #expect(run.status == 0)
        let out = String(decoding: run.stdout, as: UTF8.self)
        #expect(out.contains("SerialEM: Digitized by Gatan Camera on TF30"))
        #expect(out.contains("SERI (inferred"))
        #expect(run.stderr.contains("warning:") && run.stderr.contains("truncated"))
    }

    @Test("version names the linked numeric libraries")
    func version() throws {
        let run = try shell("$B version")
        let out = String(decoding: run.stdout, as: UTF8.self)
        #expect(out.contains("OpenBLAS 0.3"))
        #expect(out.contains("fftw-3") && out.contains("self-check ok"))
        #expect(out.contains("LIBTIFF"))
    }
}
