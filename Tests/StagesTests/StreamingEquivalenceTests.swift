import Foundation
import Testing
@testable import FilterKit
@testable import Smoothing

/// Issue 4 acceptance: streamed `gaussian` and `median` equal a whole-volume computation for
/// slab thicknesses 1, 2, 7 and 64, halos larger than a slab, at every face, in every boundary mode.
@Suite("streaming equals whole-volume")
struct StreamingEquivalenceTests {
    static let size = Size3(x: 13, y: 11, z: 17)
    static let values = randomVolume(size)
    static let slabs = [1, 2, 7, 64]

    /// Direct (non-separable, Double) Gaussian on the padded volume: an independent reference.
    static func referenceGaussian(sigma: SIMD3<Double>, truncate: Double, mode: BoundaryMode) -> [Float] {
        let n = size
        func kernel(_ s: Double) -> [Double] {
            let r = s > 0 ? Int(truncate * s + 0.5) : 0
            let w = (-r...r).map { k in s > 0 ? exp(-0.5 * Double(k * k) / (s * s)) : 1.0 }
            let total = w.reduce(0, +)
            return w.map { $0 / total }
        }
        let (kx, ky, kz) = (kernel(sigma.x), kernel(sigma.y), kernel(sigma.z))
        let (rx, ry, rz) = (kx.count / 2, ky.count / 2, kz.count / 2)
        var out = [Float](repeating: 0, count: n.voxelCount)
        for z in 0..<n.z {
            for y in 0..<n.y {
                for x in 0..<n.x {
                    var sum = 0.0
                    for dz in -rz...rz {
                        for dy in -ry...ry {
                            let wzy = kz[dz + rz] * ky[dy + ry]
                            for dx in -rx...rx {
                                sum += wzy * kx[dx + rx] * padded(values, n, mode, x + dx, y + dy, z + dz)
                            }
                        }
                    }
                    out[(z * n.y + y) * n.x + x] = Float(sum)
                }
            }
        }
        return out
    }

    static func referenceMedian(size s: Int, mode: BoundaryMode) -> [Float] {
        let n = size, r = s / 2
        var out = [Float](repeating: 0, count: n.voxelCount)
        for z in 0..<n.z {
            for y in 0..<n.y {
                for x in 0..<n.x {
                    var window: [Double] = []
                    for dz in -r...r { for dy in -r...r { for dx in -r...r { window.append(padded(values, n, mode, x + dx, y + dy, z + dz)) } } }
                    window.sort()
                    out[(z * n.y + y) * n.x + x] = Float(window[window.count / 2])
                }
            }
        }
        return out
    }

    @Test("gaussian: every slab thickness equals the whole volume bit for bit, and the reference to 1e-6",
          arguments: BoundaryMode.allCases, [SIMD3<Double>(1, 1, 1), SIMD3(0.7, 1.5, 3), SIMD3(2, 0, 5)])
    func gaussian(_ mode: BoundaryMode, _ sigma: SIMD3<Double>) throws {
        let make = { GaussianStage(sigma: sigma, truncate: 4, boundary: mode) }
        let size = StreamingEquivalenceTests.size, values = StreamingEquivalenceTests.values
        #expect(make().halo.z >= 4, "halo \(make().halo.z) must exceed the thinner slabs")
        let (_, whole) = try runChain([make()], size: size, values: values, slab: size.z)
        let reference = StreamingEquivalenceTests.referenceGaussian(sigma: sigma, truncate: 4, mode: mode)
        let scale = maxAbs(reference)
        let worst = zip(whole, reference).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-6 * scale, "whole volume vs direct reference: \(worst) (scale \(scale))")
        for slab in StreamingEquivalenceTests.slabs {
            let (_, streamed) = try runChain([make()], size: size, values: values, slab: slab)
            #expect(streamed == whole, "slab \(slab), \(mode): streamed differs from whole volume")
        }
    }

    @Test("median: every slab thickness equals the exact reference", arguments: BoundaryMode.allCases, [3, 5])
    func median(_ mode: BoundaryMode, _ size: Int) throws {
        let reference = StreamingEquivalenceTests.referenceMedian(size: size, mode: mode)
        for slab in StreamingEquivalenceTests.slabs {
            let (_, streamed) = try runChain([MedianStage(size: size, boundary: mode)], size: StreamingEquivalenceTests.size, values: StreamingEquivalenceTests.values, slab: slab)
            #expect(streamed == reference, "slab \(slab), size \(size), \(mode)")
        }
    }

    @Test("a chain of two halo stages streams like the two run one after the other")
    func chainOfHalos() throws {
        let size = StreamingEquivalenceTests.size, values = StreamingEquivalenceTests.values
        let (_, first) = try runChain([GaussianStage(sigma: SIMD3(1, 1, 1.5), boundary: .reflect)], size: size, values: values, slab: size.z)
        let (_, both) = try runChain([MedianStage(size: 3, boundary: .symmetric)], size: size, values: first, slab: size.z)
        for slab in StreamingEquivalenceTests.slabs {
            let (_, chained) = try runChain(
                [GaussianStage(sigma: SIMD3(1, 1, 1.5), boundary: .reflect), MedianStage(size: 3, boundary: .symmetric)],
                size: size, values: values, slab: slab)
            #expect(chained == both, "slab \(slab)")
        }
    }

    @Test("a pipe-like (in-order) input gives the same result, with and without I/O threads")
    func sequentialInput() throws {
        let size = StreamingEquivalenceTests.size, values = StreamingEquivalenceTests.values
        let (_, whole) = try runChain([GaussianStage(sigma: SIMD3(1, 2, 2))], size: size, values: values, slab: size.z)
        for slab in [1, 3] {
            for threads in [true, false] {
                let (_, streamed) = try runChain([GaussianStage(sigma: SIMD3(1, 2, 2))], size: size, values: values, slab: slab, randomAccess: false, backgroundIO: threads)
                #expect(streamed == whole, "slab \(slab), background I/O \(threads)")
            }
        }
    }

    @Test("periodic along Z from an in-order input is refused with a clear message")
    func periodicNeedsRandomAccess() throws {
        let size = StreamingEquivalenceTests.size
        let error = #expect(throws: FilterError.self) {
            _ = try runChain([GaussianStage(sigma: SIMD3(1, 1, 1), boundary: .periodic), MedianStage(size: 3)], size: size, values: StreamingEquivalenceTests.values, slab: 2, randomAccess: true)
            _ = try runChain([MedianStage(size: 3), GaussianStage(sigma: SIMD3(1, 1, 1), boundary: .periodic)], size: size, values: StreamingEquivalenceTests.values, slab: 2)
        }
        #expect("\(error!)".contains("boundary=periodic along Z needs sections from the far end"))
    }
}

@Suite("boundary modes")
struct BoundaryModeTests {
    @Test("padding of a b c d matches numpy.pad")
    func numpyPad() {
        // numpy.pad([0,1,2,3], 5, mode) for indices -5..-1 and 4..8
        let expected: [BoundaryMode: [Int?]] = [
            .nearest: [0, 0, 0, 0, 0, 3, 3, 3, 3, 3],
            .symmetric: [3, 3, 2, 1, 0, 3, 2, 1, 0, 0],
            .reflect: [1, 2, 3, 2, 1, 2, 1, 0, 1, 2],
            .periodic: [3, 0, 1, 2, 3, 0, 1, 2, 3, 0],
            .zero: [nil, nil, nil, nil, nil, nil, nil, nil, nil, nil],
        ]
        for (mode, values) in expected {
            let got = (Array(-5..<0) + Array(4..<9)).map { mode.map($0, count: 4) }
            #expect(got == values, "\(mode)")
        }
        #expect(BoundaryMode.reflect.map(-3, count: 1) == 0)
    }
}

@Suite("stage kinds")
struct StageKindTests {
    /// Adopts only `Stage`: neither streaming nor whole-volume.
    final class BareStage: Stage {
        let name = "bare"
        func outputInfo(for input: VolumeInfo) throws -> VolumeInfo { input }
    }

    @Test("a stage of neither kind is refused when the pipeline is made, naming it (no trap)")
    func bareStageRefused() throws {
        let size = Size3(x: 4, y: 3, z: 2)
        let reader = ArrayVolumeReader(size: size, values: [Float](repeating: 1, count: size.voxelCount))
        #expect {
            _ = try Pipeline(reader: reader, stages: [GaussianStage(sigma: SIMD3(1, 1, 1)), BareStage()], options: PipelineOptions())
        } throws: { error in
            "\(error)".contains("bare") && "\(error)".contains("neither StreamingStage nor WholeVolumeStage")
        }
        let kinds = try StageKind.of([GaussianStage(sigma: SIMD3(1, 1, 1))])
        #expect(kinds.count == 1 && kinds[0].streaming != nil && !kinds[0].isWholeVolume && kinds[0].prepassCount == 0)
    }
}
