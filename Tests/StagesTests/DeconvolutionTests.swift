import Foundation
import Testing
@testable import Deconvolution
@testable import FilterKit

/// Issue 6 acceptance: the golden numbers of `../shared/reference/golden_values.txt` (written here,
/// so the tests need no shared folder), and the in-memory and out-of-core modes agreeing.
@Suite("deconvolution (IsoNet deconv)")
struct DeconvolutionTests {
    /// Golden set A: 10 Å/px, 3 µm, defaults. Set B: 5.4 Å/px, 4 µm, sf 0.7, ds 1.2, hpn 0.05, flipped.
    static let setA = DeconvolutionSettings(angpix: 10, defocus: 3)
    static let setB: DeconvolutionSettings = {
        var s = DeconvolutionSettings(angpix: 5.4, defocus: 4)
        s.snrfalloff = 0.7
        s.deconvstrength = 1.2
        s.highpassnyquist = 0.05
        s.phaseflipped = true
        return s
    }()

    /// (r, W, ctf) from golden_values.py.
    static let tableA: [(Double, Double, Double)] = [
        (0.0, 6.999999966e-08, 7.000000000e-02), (0.005, 1.929040193e-01, 7.011577007e-02),
        (0.01, 6.100801087e-01, 7.046255607e-02), (0.02, 1.084724438e+00, 7.184909585e-02),
        (0.05, 9.154265603e-01, 8.155250188e-02), (0.1, 7.773465644e-01, 1.161372111e-01),
        (0.25, 4.801857560e-01, 3.519846279e-01), (0.5, 1.133838255e-01, 9.419842456e-01),
        (0.75, 4.953762331e-03, 4.487841459e-01), (1.0, -9.081268818e-04, -9.999490522e-01),
    ]
    static let tableB: [(Double, Double, Double)] = [
        (0.0, 6.999999966e-08, 7.000000000e-02), (0.005, 5.116521949e-02, 7.052934780e-02),
        (0.01, 1.892010495e-01, 7.211490056e-02), (0.02, 6.301771074e-01, 7.845287844e-02),
        (0.05, 1.628015984e+00, 1.227231539e-01), (0.1, 1.443534522e+00, 2.782349366e-01),
        (0.25, 5.545337585e-01, 9.844697110e-01), (0.5, 3.739523686e-02, 7.938350794e-01),
        (0.75, 1.048173567e-03, 5.517212919e-01), (1.0, 5.162542397e-05, 6.851569601e-01),
    ]

    @Test("W(r) and CTF(r) match the golden values to 1e-6 relative", arguments: [0, 1])
    func wienerTable(_ set: Int) {
        let table = WienerTable(set == 0 ? Self.setA : Self.setB)
        for (r, w, ctf) in set == 0 ? Self.tableA : Self.tableB {
            #expect(abs(table.value(at: r) - w) <= 1e-6 * abs(w), "set \(set) W(\(r)) = \(table.value(at: r)), golden \(w)")
            #expect(abs(table.ctf(at: r) - ctf) <= 1e-6 * abs(ctf), "set \(set) ctf(\(r))")
        }
    }

    /// Impulse responses (raw filter, no rescale): input 1 at voxel (0,0,0). Points are (z, y, x).
    static let impulses: [(set: Int, shape: (z: Int, y: Int, x: Int), points: [((Int, Int, Int), Double)])] = [
        (0, (16, 20, 24), [((0, 0, 0), 2.322532801e-02), ((0, 0, 1), 1.806359876e-02), ((0, 1, 0), 1.806391900e-02),
                           ((1, 0, 0), 1.806402593e-02), ((1, 2, 3), 2.737156942e-04), ((15, 0, 0), 1.806402593e-02),
                           ((8, 10, 12), -1.193533901e-04)]),
        (0, (15, 21, 25), [((0, 0, 0), 1.967341130e-02), ((0, 0, 1), 1.576109279e-02), ((0, 1, 0), 1.582823475e-02),
                           ((1, 0, 0), 1.599619838e-02), ((1, 2, 3), 3.154471677e-04), ((14, 0, 0), 1.599619838e-02),
                           ((7, 10, 12), -1.155279657e-04)]),
        (1, (16, 20, 24), [((0, 0, 0), 1.577183045e-02), ((0, 0, 1), 1.331633995e-02), ((0, 1, 0), 1.329073878e-02),
                           ((1, 0, 0), 1.338181572e-02), ((1, 2, 3), 2.005272854e-03), ((15, 0, 0), 1.338181572e-02),
                           ((8, 10, 12), -4.523954864e-04)]),
        (1, (15, 21, 25), [((0, 0, 0), 1.347781561e-02), ((0, 0, 1), 1.156550060e-02), ((0, 1, 0), 1.154872848e-02),
                           ((1, 0, 0), 1.155650061e-02), ((1, 2, 3), 2.064489961e-03), ((14, 0, 0), 1.155650061e-02),
                           ((7, 10, 12), -4.388566027e-04)]),
    ]

    static func deconvolve(
        _ values: [Float], _ size: Size3, settings: DeconvolutionSettings, mode: DeconvolutionStage.Mode,
        normalize: Bool = true, randomAccess: Bool = true, memory: Int = 256 << 20, slab: Int? = nil
    ) throws -> [Float] {
        let stage = DeconvolutionStage(settings: settings, mode: mode, normalize: normalize, planner: "estimate")
        return try runChain([stage], size: size, values: values, slab: slab, randomAccess: randomAccess, memory: memory).1
    }

    @Test("impulse responses match the golden values (even and odd shapes, both modes)",
          arguments: [DeconvolutionStage.Mode.memory, .outofcore], 0..<4)
    func impulseResponse(_ mode: DeconvolutionStage.Mode, _ index: Int) throws {
        let (set, shape, points) = Self.impulses[index]
        let size = Size3(x: shape.x, y: shape.y, z: shape.z)
        var values = [Float](repeating: 0, count: size.voxelCount)
        values[0] = 1
        let out = try Self.deconvolve(values, size, settings: set == 0 ? Self.setA : Self.setB, mode: mode, normalize: false)
        // float32 transforms: errors are relative to the response's peak, out(0, 0, 0).
        let peak = abs(points[0].1)
        for ((z, y, x), golden) in points {
            let got = Double(out[(z * size.y + y) * size.x + x])
            #expect(abs(got - golden) <= 1e-6 * peak, "set \(set) \(shape) out(\(z), \(y), \(x)) = \(got), golden \(golden)")
        }
    }

    /// v = sin(0.3x) + cos(0.2y) + 0.5 sin(0.45z + 0.1x) + 0.01(x + y + z) + 3 on (20, 24, 30).
    static func analyticInput() -> (Size3, [Float]) {
        let size = Size3(x: 30, y: 24, z: 20)
        var values = [Float](repeating: 0, count: size.voxelCount)
        for z in 0..<size.z {
            for y in 0..<size.y {
                for x in 0..<size.x {
                    let (fx, fy, fz) = (Double(x), Double(y), Double(z))
                    values[(z * size.y + y) * size.x + x] = Float(sin(0.3 * fx) + cos(0.2 * fy) + 0.5 * sin(0.45 * fz + 0.1 * fx) + 0.01 * (fx + fy + fz) + 3)
                }
            }
        }
        return (size, values)
    }

    @Test("the rescaled output of an analytic input matches the golden values", arguments: [DeconvolutionStage.Mode.memory, .outofcore], [0, 1])
    func analytic(_ mode: DeconvolutionStage.Mode, _ set: Int) throws {
        let (size, values) = Self.analyticInput()
        let out = try Self.deconvolve(values, size, settings: set == 0 ? Self.setA : Self.setB, mode: mode)
        let golden: [((Int, Int, Int), Double)] = set == 0
            ? [((0, 0, 0), 4.4672713), ((3, 5, 7), 4.9658747), ((10, 12, 15), 1.4492019), ((19, 23, 29), 4.2289987)]
            : [((0, 0, 0), 4.5969796), ((3, 5, 7), 4.9212036), ((10, 12, 15), 1.4287148), ((19, 23, 29), 4.3590579)]
        for ((z, y, x), expected) in golden {
            let got = Double(out[(z * size.y + y) * size.x + x])
            #expect(abs(got - expected) <= 1e-6 * abs(expected), "set \(set) out(\(z), \(y), \(x)) = \(got), golden \(expected)")
        }
        var stats = RunningStatistics()
        stats.add(out, count: out.count)
        #expect(abs(stats.mean - 3.409649) <= 1e-6 * 3.409649)
        #expect(abs(stats.standardDeviation - 0.9958002) <= 1e-6)
    }

    @Test("in memory and out of core agree to 1e-5·std on odd, non-cubic shapes, from a file or a pipe, in any slab",
          arguments: [(Size3(x: 37, y: 29, z: 23), 1, 1 << 20), (Size3(x: 50, y: 17, z: 31), 3, 40 << 20), (Size3(x: 1, y: 33, z: 9), 7, 64 << 20)])
    func modesAgree(_ size: Size3, _ slab: Int, _ memory: Int) throws {
        var settings = DeconvolutionSettings(angpix: 7.8, defocus: 1.5)
        settings.voltage = 200
        settings.cs = 2
        settings.phaseshift = 30
        let values = randomVolume(size, seed: 7).enumerated().map { $0.element * 3 + 12 + Float($0.offset % 7) }
        let whole = try Self.deconvolve(values, size, settings: settings, mode: .memory)
        var stats = RunningStatistics()
        stats.add(whole, count: whole.count)
        for randomAccess in [true, false] {
            let streamed = try Self.deconvolve(values, size, settings: settings, mode: .outofcore, randomAccess: randomAccess, memory: memory + MemoryPlan.runtimeOverhead + (8 << 20), slab: slab)
            let worst = zip(whole, streamed).map { abs(Double($0) - Double($1)) }.max()!
            #expect(worst <= 1e-5 * stats.standardDeviation, "\(size): max |Δ| \(worst), std \(stats.standardDeviation)")
        }
    }

    @Test("the planner keeps the volume in memory when it fits and goes out of core when it does not")
    func planner() throws {
        let size = Size3(x: 256, y: 256, z: 256)
        let info = VolumeInfo(size: size, elementType: .float32, voxelSize: SIMD3(repeating: 10))
        let stage = DeconvolutionStage(settings: DeconvolutionSettings(angpix: 10, defocus: 3))
        let roomy = try Pipeline(reader: InfoOnlyReader(info: info), stages: [stage], options: PipelineOptions(memoryBudget: 512 << 20))
        #expect(roomy.plan.reservations[0]?.mode == "in memory")
        let tight = try Pipeline(reader: InfoOnlyReader(info: info), stages: [stage], options: PipelineOptions(memoryBudget: 64 << 20))
        #expect(tight.plan.reservations[0]?.mode == "out of core")
        #expect(tight.plan.bytes + MemoryPlan.runtimeOverhead <= 64 << 20)
        let forced = DeconvolutionStage(settings: DeconvolutionSettings(angpix: 10, defocus: 3), mode: .memory)
        #expect(throws: FilterError.self) {
            _ = try Pipeline(reader: InfoOnlyReader(info: info), stages: [forced], options: PipelineOptions(memoryBudget: 64 << 20))
        }
    }
}

/// A reader that only describes a volume (planning tests never read voxels).
final class InfoOnlyReader: VolumeReader {
    let info: VolumeInfo
    let sourceName = "info-only"
    let warnings: [String] = []
    let supportsRandomAccess = true
    init(info: VolumeInfo) { self.info = info }
    func readRows(from firstRow: Int, count: Int, into destination: UnsafeMutablePointer<Float>) throws {
        throw FilterError.notSeekable(source: sourceName, operation: "read")
    }
}
