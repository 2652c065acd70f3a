import Foundation
import Testing
import FilterKit

@Suite("stdio-filter convert (built binary)")
struct ConvertEndToEndTests {
    @Test("float32 file → pipe → file is bit-exact and keeps the header geometry")
    func pipeRoundTrip() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 33, y: 17, z: 9), in: dir)
        let output = dir.appendingPathComponent("out.mrc").path
        let run = try shell("$B convert \(q(input)) - | $B convert - \(q(output))")
        #expect(run.status == 0, "\(run.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: input)), b = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(a.count == b.count)
        #expect(a.suffix(from: 1024) == b.suffix(from: 1024), "data block must be bit-identical")
        // Geometry and statistics fields are identical; only the labels differ (two added).
        #expect(a.prefix(220) == b.prefix(220))
        let header = try MRCHeader(bytes: [UInt8](b.prefix(1024)), source: output)
        #expect(header.labels.count == 4)
        #expect(header.labels[0] == "made by the e2e tests")
    }

    @Test("a copy that changes no byte is made inside the kernel, with the statistics of rows written in order", arguments: [ElementType.float32, .int16])
    func copyInKernel(type: ElementType) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 301, y: 97, z: 23), in: dir, type: type)
        // File to file and to a redirected stdout (which starts after three bytes already
        // written): copied; from a pipe: rows in order, the reference.
        let file = try shell("$B convert --verbose \(q(input)) file.mrc && { printf abc; $B convert --verbose \(q(input)); } > offset.mrc", in: dir)
        #expect(file.status == 0, "\(file.stderr)")
        #expect(file.stderr.components(separatedBy: "copied unchanged inside the kernel").count == 3, "\(file.stderr)")
        let piped = try shell("cat \(q(input)) | $B convert --verbose - piped.mrc", in: dir)
        #expect(piped.status == 0 && !piped.stderr.contains("inside the kernel"), "\(piped.stderr)")
        let reference = try Data(contentsOf: dir.appendingPathComponent("piped.mrc"))
        let copied = try Data(contentsOf: dir.appendingPathComponent("file.mrc"))
        let offset = try Data(contentsOf: dir.appendingPathComponent("offset.mrc"))
        #expect(offset.prefix(3) == Data("abc".utf8))
        for (name, data) in [("file", copied), ("stdout after 3 bytes", Data(offset.dropFirst(3)))] {
            #expect(data.count == reference.count, "\(name)")
            #expect(data.suffix(from: data.startIndex + 1024) == reference.suffix(from: 1024), "\(name): the data")
            // Geometry and exact statistics (DMIN, DMAX, DMEAN, RMS) as from the pipe.
            #expect(data.prefix(220) == reference.prefix(220), "\(name): the header")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)).suffix(from: 1024) == reference.suffix(from: 1024))
    }

    @Test("the corpus tomogram through cat | convert | convert is bit-exact", .enabled(if: sharedCorpus != nil, "shared corpus absent"))
    func corpusPipe() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = sharedCorpus!.appendingPathComponent("real/tomodrgn__tomogram_001.mrc").path
        let output = dir.appendingPathComponent("out.mrc").path
        let run = try shell("cat \(q(input)) | $B convert | $B convert - \(q(output))")
        #expect(run.status == 0, "\(run.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: input)), b = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(a.suffix(from: 1024) == b.suffix(from: 1024))
    }

    @Test("written files pass mrcfile.validate: file output and pipe output", .enabled(if: mrcfileAvailable, "python3 with mrcfile not installed (pip install mrcfile)"))
    func validates() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 20, y: 10, z: 5), in: dir)
        // Mode 12 is validated on the corpus file below: mrcfile computes the std of float16 data in
        // float16, which overflows to inf for a volume this size and fails its own check.
        for mode in [0, 1, 2, 6] {
            let toFile = dir.appendingPathComponent("m\(mode).mrc").path
            let piped = dir.appendingPathComponent("p\(mode).mrc").path
            #expect(try shell("$B convert --quiet --mode \(mode) \(q(input)) \(q(toFile))").status == 0)
            #expect(try shell("$B convert --quiet --mode \(mode) < \(q(input)) | cat > \(q(piped))").status == 0)
            for path in [toFile, piped] {
                let (valid, report) = try mrcfileValidate(path)
                #expect(valid, "mode \(mode) \(path): \(report)")
            }
            let pipedHeader = try MRCHeader(bytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: piped)).prefix(1024)), source: piped)
            #expect(pipedHeader.dmin == 0 && pipedHeader.dmax == -1 && pipedHeader.dmean == -2 && pipedHeader.rms == -1, "a pipe carries the undetermined statistics")
            let fileHeader = try MRCHeader(bytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: toFile)).prefix(1024)), source: toFile)
            #expect(fileHeader.dmin < fileHeader.dmax && fileHeader.rms! > 0, "a file gets exact statistics")
            #expect(fileHeader.mode == mode)
        }
    }

    @Test("every readable corpus file converts to a file mrcfile.validate accepts", .enabled(if: mrcfileAvailable && sharedCorpus != nil, "needs python3 + mrcfile and ../shared/corpus"))
    func corpusValidates() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = sharedCorpus!
        var converted = 0
        for folder in ["real", "generated", "synthetic", "derived"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: corpus.appendingPathComponent(folder).path).sorted() {
                let input = corpus.appendingPathComponent("\(folder)/\(name)").path
                let output = dir.appendingPathComponent("\(name).out.mrc").path
                let run = try shell("$B convert --quiet \(q(input)) \(q(output))")
                if run.status != 0 {
                    #expect(run.status == 1 && run.errorLines.count == 1, "\(name): \(run.stderr)")
                    #expect(["truncated", "Fourier transform"].contains { run.stderr.contains($0) }, "\(name): \(run.stderr)")
                    continue
                }
                converted += 1
                let (valid, report) = try mrcfileValidate(output)
                #expect(valid, "\(name): \(report)")
            }
        }
        #expect(converted == 53)
    }

    @Test("the extended header, voxel size and origin are carried over", .enabled(if: sharedCorpus != nil, "shared corpus absent"))
    func carriesMetadata() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = sharedCorpus!.appendingPathComponent("synthetic/syn__seri_exthdr_tilt_angles_mode1_8x6x3.st").path
        let output = dir.appendingPathComponent("out.st").path
        #expect(try shell("$B convert --mode 2 \(q(input)) \(q(output))").status == 0)
        let reader = try MRCReader(source: InputSource.open(output))
        let original = try MRCReader(source: InputSource.open(input))
        #expect(reader.info.mrc?.extendedHeader == original.info.mrc?.extendedHeader)
        #expect(reader.header.extendedHeaderType == "SERI")
        #expect(reader.header.imodNint == 2 && reader.header.imodNreal == 1)
        #expect(reader.info.voxelSize == original.info.voxelSize)
        #expect(reader.info.kind == .imageStack)
        #expect(reader.header.ispg == 0)
        let info = try shell("$B info \(q(output))")
        #expect(String(decoding: info.stdout, as: UTF8.self).contains("-30.00 0.00 30.00"))
    }

    @Test("converting to a narrower type clamps and says so")
    func clampWarning() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeVolume(Size3(x: 16, y: 16, z: 4), in: dir)
        let run = try shell("$B convert --mode 0 \(q(input)) \(q(dir.appendingPathComponent("b.mrc").path))")
        #expect(run.status == 0)
        #expect(run.stderr.isEmpty, "values fit in int8: no warning expected, got \(run.stderr)")
        let scaled = try shell("$B convert --type int8 \(q(sharedCorpus?.appendingPathComponent("generated/mrcfile__mode1_int16_vol_8x6x4.mrc").path ?? input)) \(q(dir.appendingPathComponent("c.mrc").path))")
        #expect(scaled.status == 0)
        if sharedCorpus != nil { #expect(scaled.stderr.contains("voxels were outside the int8 range")) }
    }
}
