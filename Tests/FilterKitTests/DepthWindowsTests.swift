import FilterKit
import Foundation
import Testing
import Tomography

@Suite("s2s on deep back-projections: windows of sections split and filtered on their own, blended")
struct DepthWindowsTests {
    @Test("windows cover the volume, overlap by a quarter at least, and their weights sum to 1", arguments: [
        (100, 64), (200, 128), (80, 64), (81, 64), (300, 64), (1000, 128), (129, 128), (161, 128),
    ])
    func windows(depth: Int, window: Int) {
        let windows = DepthWindows(depth: depth, window: window)
        if depth <= window + window / 4 {
            #expect(windows.windows == [0..<depth])
            return
        }
        #expect(windows.windows.first?.lowerBound == 0 && windows.windows.last?.upperBound == depth)
        #expect(windows.windows.allSatisfy { $0.count == window })
        for (a, b) in zip(windows.windows, windows.windows.dropFirst()) {
            #expect(a.lowerBound < b.lowerBound)
            #expect(a.upperBound - b.lowerBound >= window / 4, "\(a) then \(b)")
        }
        var sums = [Float](repeating: 0, count: depth)
        for (range, weights) in zip(windows.windows, windows.weights) {
            #expect(weights.count == range.count)
            #expect(weights.allSatisfy { $0 > 0 && $0 <= 1 })
            for (z, w) in zip(range, weights) { sums[z] += w }
        }
        #expect(sums.allSatisfy { abs($0 - 1) < 1e-6 }, "\(sums)")
    }

    @Test("the window depth follows the voxel size (1280 Å), 128 sections when it is unknown")
    func windowDepth() {
        #expect(DepthWindows.sections(forVoxel: 10) == 128)
        #expect(DepthWindows.sections(forVoxel: 20) == 64)
        #expect(DepthWindows.sections(forVoxel: 0) == 128)
        // 21 tilts on planes 326 wide (the 20 Å field of view): 49 sections at least; 41: 110.
        #expect(DepthWindows.minimumSections(tilts: 21, width: 326) == 49)
        #expect(DepthWindows.minimumSections(tilts: 41, width: 326) == 110)
        #expect(DepthWindows.minimumSections(tilts: 41, width: 80) == .max)
    }

    @Test("a window of a whole field of view splits with the whole's geometry placed at its depth", arguments: [BackProjectionSplit.Axis.y, .x])
    func windowOfWholeField(axis: BackProjectionSplit.Axis) throws {
        let size = axis == .y ? Size3(x: 96, y: 2, z: 60) : Size3(x: 2, y: 96, z: 60)
        let (volume, even, odd) = BackProjectionSplitTests.backProjection(size: size, degrees: BackProjectionSplitTests.degrees, axis: axis, wholeField: true)
        let whole = try BackProjectionSplitTests.run(volume, size: size, angles: try TiltAngles(degrees: BackProjectionSplitTests.degrees))
        #expect(whole.fit.edges)
        let (start, depth) = (14, 40)
        let window = Size3(x: size.x, y: size.y, z: depth)
        let sections = start * size.sectionVoxels..<(start + depth) * size.sectionVoxels
        let split = BackProjectionSplit(angles: try TiltAngles(degrees: BackProjectionSplitTests.degrees))
        func splitWindow(_ fit: BackProjectionSplit.Fit) -> (first: [Float], second: [Float], residual: Double) {
            var first = [Float](repeating: 0, count: window.voxelCount), second = first
            let residual = Array(volume[sections]).withUnsafeBufferPointer { v in
                first.withUnsafeMutableBufferPointer { a in
                    second.withUnsafeMutableBufferPointer { b in split.split(v.baseAddress!, size: window, fit: fit, first: a.baseAddress!, second: b.baseAddress!) }
                }
            }
            return (first, second, residual)
        }
        let placed = splitWindow(whole.fit.window(from: start, depth: depth, of: size.z))
        #expect(placed.residual < 0.01, "residual \(placed.residual)")
        let errors = (BackProjectionSplitTests.relativeError(placed.first, Array(even[sections])), BackProjectionSplitTests.relativeError(placed.second, Array(odd[sections])))
        #expect(errors.0 < 0.1 && errors.1 < 0.1, "relative errors \(errors)")
        // The same window taken as centred in the reconstruction puts the grids and edges elsewhere.
        let centred = splitWindow(whole.fit)
        #expect(centred.residual > 3 * placed.residual, "residual centred \(centred.residual), placed \(placed.residual)")
    }

    /// Runs a ``TiltSplitDenoiser`` over `volume` (sections fed 3 at a time) in `available` bytes.
    static func run(_ stage: TiltSplitDenoiser, _ volume: [Float], size: Size3, available: Int) throws -> (output: [Float], mode: String) {
        let info = VolumeInfo(size: size, elementType: .float32)
        let reservation = try #require(stage.reserve(for: info, available: available))
        try stage.begin(input: info, reservation: reservation)
        defer { stage.end() }
        try volume.withUnsafeBufferPointer { v in
            for z in stride(from: 0, to: size.z, by: 3) {
                try stage.absorb(v.baseAddress! + z * size.sectionVoxels, from: z, count: min(3, size.z - z))
            }
        }
        try stage.finishInput()
        var output = [Float](repeating: .nan, count: size.voxelCount)
        try output.withUnsafeMutableBufferPointer { o in
            for z in stride(from: 0, to: size.z, by: 5) {
                try stage.emit(z..<min(size.z, z + 5), into: o.baseAddress! + z * size.sectionVoxels)
            }
        }
        return (output, reservation.mode)
    }

    static func relativeDifference(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(a, b) {
            difference += Double(x - y) * Double(x - y)
            norm += Double(y) * Double(y)
        }
        return norm > 0 ? (difference / norm).squareRoot() : .infinity
    }

    @Test("the windowed filter is each window's own filter, blended; in memory or out of core alike")
    func blendsWindows() throws {
        let size = Size3(x: 64, y: 20, z: 60)
        var volume = BackProjectionSplitTests.backProjection(size: size, degrees: BackProjectionSplitTests.degrees, axis: .y, seed: 9).volume
        // Blobs both halves share, so that the gains are not all 0.
        for z in 0..<size.z {
            for y in 0..<size.y {
                for x in 0..<size.x {
                    let r2 = Double((x - 20) * (x - 20) + (y - 10) * (y - 10) + (z - 18) * (z - 18))
                    let s2 = Double((x - 44) * (x - 44) + (y - 8) * (y - 8) + (z - 44) * (z - 44))
                    volume[(z * size.y + y) * size.x + x] += Float(3 * exp(-r2 / 40) - 2 * exp(-s2 / 30))
                }
            }
        }
        let split = TiltSplit(angles: .given(try TiltAngles(degrees: BackProjectionSplitTests.degrees)), maxResidual: 0.5)
        let windowed = TiltSplitDenoiser(split: split, window: .sections(40))
        let ample = try Self.run(windowed, volume, size: size, available: 1 << 30)
        #expect(ample.mode.contains("windows"))
        let windows = DepthWindows(depth: size.z, window: 40)
        #expect(windows.windows == [0..<40, 20..<60])

        // Each window alone, with the whole volume's geometry placed at its depth, blended.
        let geometry = try volume.withUnsafeBufferPointer { try split.geometry(of: $0.baseAddress!, size: size, source: "test", log: { _ in }) }
        var expected = [Float](repeating: 0, count: size.voxelCount)
        for (range, weights) in zip(windows.windows, windows.weights) {
            var placed = geometry
            placed.fit = geometry.fit.window(from: range.lowerBound, depth: range.count, of: size.z)
            let windowSize = Size3(x: size.x, y: size.y, z: range.count)
            let alone = TiltSplitDenoiser(split: split, window: .whole, geometry: placed)
            let part = Array(volume[range.lowerBound * size.sectionVoxels..<range.upperBound * size.sectionVoxels])
            let output = try Self.run(alone, part, size: windowSize, available: 1 << 30).output
            for (s, z) in range.enumerated() {
                for i in 0..<size.sectionVoxels { expected[z * size.sectionVoxels + i] += weights[s] * output[s * size.sectionVoxels + i] }
            }
        }
        #expect(expected.contains { $0 != 0 }, "the filter kept something")
        #expect(Self.relativeDifference(ample.output[...], expected[...]) < 1e-5)

        // The least memory: each window out of core.
        let least = windowed.minimumBytes(for: VolumeInfo(size: size, elementType: .float32))
        let tight = try Self.run(windowed, volume, size: size, available: least)
        #expect(tight.mode.contains("windows"))
        #expect(Self.relativeDifference(tight.output[...], ample.output[...]) < 1e-5)
    }
}
