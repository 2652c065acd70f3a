import FilterKit
import Foundation
import Testing
@testable import S2SFilter

@Suite("noise correlation and blind regions")
struct NoiseCorrelationTests {
    /// White noise convolved with `kernel` (offset → weight), plus a smooth signal of
    /// `signalAmplitude` (a slow sine along every axis), in cubes of `side`.
    static func cubes(kernel: [(SIMD3<Int>, Float)], count: Int = 24, side p: Int = 32, signalAmplitude: Float = 0, seed: UInt64 = 1) -> [[Float]] {
        (0..<count).map { c in
            let white = RandomStream(seed: seed, stream: UInt64(c))
            let q = p + 8
            let w = (0..<(q * q * q)).map { white.normal(UInt64($0)) }
            var cube = [Float](repeating: 0, count: p * p * p)
            for z in 0..<p { for y in 0..<p { for x in 0..<p {
                var v: Float = 0
                for (o, weight) in kernel { v += weight * w[((z + 4 - o.z) * q + y + 4 - o.y) * q + x + 4 - o.x] }
                let phase = Float(c)
                v += signalAmplitude * sin(0.3 * Float(x) + phase) * sin(0.25 * Float(y) + 2 * phase) * sin(0.2 * Float(z) + phase)
                cube[(z * p + y) * p + x] = v
            } } }
            return cube
        }
    }

    /// The offsets where the kernel's autocorrelation is not zero (the centre included).
    static func support(_ kernel: [(SIMD3<Int>, Float)]) -> Set<SIMD3<Int>> {
        var set: Set<SIMD3<Int>> = []
        for (a, _) in kernel { for (b, _) in kernel { set.insert(a &- b) } }
        return set
    }

    static let axes: [(String, SIMD3<Int>)] = [("X", SIMD3(1, 0, 0)), ("Y", SIMD3(0, 1, 0)), ("Z", SIMD3(0, 0, 1))]

    @Test("white noise: no correlation at any lag, a one-voxel region, with or without a smooth signal", arguments: [Float(0), 1])
    func white(signal: Float) {
        let c = NoiseCorrelation.estimate(cubes: Self.cubes(kernel: [(SIMD3(0, 0, 0), 1)], signalAmplitude: signal), side: 32)
        #expect(abs(c[dx: 0, dy: 0, dz: 0] - 1) < 1e-9)
        #expect(c.values.enumerated().allSatisfy { $0.offset == c.values.count / 2 || abs($0.element) < 0.05 }, "\(c.summary())")
        #expect(c.blindRegion(threshold: 0.1) == .point)
    }

    @Test("noise correlated along one axis (kernel [1, 1]: ρ(1) = 0.5) is found along that axis only",
          arguments: [0, 1, 2])
    func oneAxis(axis: Int) {
        let step = Self.axes[axis].1
        let kernel: [(SIMD3<Int>, Float)] = [(SIMD3(0, 0, 0), 1), (step, 1)]
        let c = NoiseCorrelation.estimate(cubes: Self.cubes(kernel: kernel), side: 32)
        // The high-pass lowers a correlation a little; the lag-1 value stays near 0.5.
        #expect(abs(c.axes[axis][1] - 0.5) < 0.08, "\(Self.axes[axis].0): \(c.summary())")
        for other in 0..<3 where other != axis { #expect(abs(c.axes[other][1]) < 0.05, "\(c.summary())") }
        let region = c.blindRegion(threshold: 0.1)
        #expect(Set(region.offsets) == Self.support(kernel).union(Self.support(kernel).map { SIMD3(0, 0, 0) &- $0 }), "\(region.offsets)")
    }

    /// The correlation of white noise filtered by `kernel`, at every offset where it is not zero.
    static func trueCorrelation(_ kernel: [(SIMD3<Int>, Float)]) -> [SIMD3<Int>: Double] {
        var c: [SIMD3<Int>: Double] = [:]
        for (a, u) in kernel { for (b, v) in kernel { c[a &- b, default: 0] += Double(u * v) } }
        let zero = c[SIMD3(0, 0, 0)]!
        return c.mapValues { $0 / zero }
    }

    @Test("a ramp-like kernel along X smeared along Z, under a smooth signal: the region holds every offset correlated ≥ 0.12 and none below 0.05")
    func tomographicKernel() {
        // [−0.5, 1, −0.5] along X (ramp filtering: ρ(1) ≈ −0.67, ρ(2) ≈ 0.17) over 2 voxels in Z.
        var kernel: [(SIMD3<Int>, Float)] = []
        for z in 0...1 { for (x, w) in [(-1, Float(-0.5)), (0, 1), (1, -0.5)] { kernel.append((SIMD3(x, 0, z), w)) } }
        let c = NoiseCorrelation.estimate(cubes: Self.cubes(kernel: kernel, signalAmplitude: 0.5), side: 32)
        let region = Set(c.blindRegion(threshold: 0.1).offsets)
        let truth = Self.trueCorrelation(kernel)
        let strong = Set(truth.filter { abs($0.value) >= 0.12 }.keys), weak = Set(truth.filter { abs($0.value) >= 0.05 }.keys)
        #expect(strong.count == 11)
        #expect(strong.isSubset(of: region), "missing \(strong.subtracting(region))")
        #expect(region.isSubset(of: weak), "extra \(region.subtracting(weak))")
    }

    @Test("a mask augmented with its patch keeps the region aligned with the noise (J-invariance under rotation)")
    func augmentedMask() {
        // Noise correlated along X; the patch is turned by 90° in XY, so the correlation runs along Y.
        let region = BlindRegion(offsets: [SIMD3(1, 0, 0), SIMD3(2, 0, 0)])
        let p = 16, shape = TensorShape(depth: p, height: p, width: p, channels: 1)
        let mask = Tensor(shape), weight = Tensor(shape), turnedMask = Tensor(shape), turnedWeight = Tensor(shape)
        MaskKind.cells(BlindCells(region: region, factor: 3)).fill(mask, lossWeight: weight, rate: 0.3, stream: RandomStream(seed: 6, stream: 7))
        let turn = PatchAugmentation(code: 1 << 3)
        #expect(turn.quarterTurns == 1)
        turn.apply(mask.data, side: p, into: turnedMask.data)
        turn.apply(weight.data, side: p, into: turnedWeight.data)
        var counted = 0
        for z in 0..<p { for y in 2..<(p - 2) { for x in 0..<p where turnedWeight.data[(z * p + y) * p + x] == 1 {
            counted += 1
            for dy in -2...2 { #expect(turnedMask.data[(z * p + y + dy) * p + x] == 0) }
        } } }
        #expect(counted > 20)
    }

    @Test("metadata round trips: blind region and named masks")
    func metadata() {
        let region = BlindRegion(offsets: [SIMD3(1, 0, 0), SIMD3(0, -1, 2)])
        #expect(BlindRegion(metadata: region.metadata) == region)
        #expect(BlindRegion(metadata: "1,2") == nil && BlindRegion(metadata: "") == nil)
        #expect(MaskKind(metadata: "xline5") == .xline(length: 5) && MaskKind(metadata: "point") == .point)
        #expect(MaskKind(metadata: "region(3 voxels)") == nil)
    }

    @Test("cell masks: the 8 passes make every voxel blind exactly once, with its whole region hidden; a pass hides the fraction it says")
    func cellPasses() {
        let region = BlindRegion(offsets: [SIMD3(1, 0, 0), SIMD3(2, 0, 0), SIMD3(0, 1, 0), SIMD3(0, 0, 1), SIMD3(1, 0, 1)])
        let cells = BlindCells(region: region, factor: 3)
        #expect(cells.cell == SIMD3(6, 3, 3))
        let shape = TensorShape(depth: 20, height: 18, width: 24, channels: 1)
        let (d, h, w) = (shape.depth, shape.height, shape.width)
        let mask = Tensor(shape), blind = Tensor(shape)
        var times = [Int](repeating: 0, count: shape.count)
        // A block that starts before the volume (as blocks with a halo do) and a shifted grid.
        for (origin, shift) in [(SIMD3(0, 0, 0), SIMD3(0, 0, 0)), (SIMD3(-5, -7, -3), SIMD3(4, 1, 5))] {
            times = times.map { _ in 0 }
            var hidden = 0
            for pass in 0..<BlindCells.passes {
                cells.fill(mask.data, blind: blind.data, shape: shape, pass: pass, origin: origin, shift: shift)
                hidden += (0..<shape.count).filter { mask.data[$0] == 0 }.count
                for z in 0..<d { for y in 0..<h { for x in 0..<w {
                    let i = (z * h + y) * w + x
                    guard blind.data[i] == 1 else { continue }
                    times[i] += 1
                    for o in region.offsets {
                        let (a, b, c) = (x + o.x, y + o.y, z + o.z)
                        guard (0..<w).contains(a), (0..<h).contains(b), (0..<d).contains(c) else { continue }
                        #expect(mask.data[(c * h + b) * w + a] == 0)
                    }
                } } }
            }
            #expect(times.allSatisfy { $0 == 1 })
            let fraction = Double(hidden) / Double(BlindCells.passes * shape.count)
            #expect(abs(fraction - cells.hiddenFraction) < 0.08, "hidden \(fraction), expected \(cells.hiddenFraction)")
        }
        // White noise: one-voxel cells, an eighth of the voxels hidden per pass.
        #expect(BlindCells(region: .point, factor: 3).cell == SIMD3(1, 1, 1) && BlindCells(region: .point, factor: 3).hiddenFraction == 0.125)
    }

    @Test("the weight average follows the parameters and is written back")
    func parameterAverage() {
        let net = UNet(.lite, seed: 1)
        let p = net.parameters[0]
        let average = ParameterAverage(net.parameters, decay: 0.5)
        let start = p.value[0]
        p.value[0] = start + 1
        average.update(net.parameters)  // decay min(0.5, 2/11): 2/11 of the old value
        average.load(into: net.parameters)
        #expect(abs(p.value[0] - (start + 9.0 / 11.0)) < 1e-5)
    }
}
