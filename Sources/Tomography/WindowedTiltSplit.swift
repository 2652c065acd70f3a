import FilterKit
import Foundation

/// ``TiltSplitDenoiser`` on a tomogram deeper than its window (``DepthWindows``): the geometry
/// found once on the whole volume, then each window of sections split and filtered on its own
/// (in memory or out of core, whichever fits), and the windows blended across their overlaps.
///
/// The sections go to a scratch copy as they arrive; the blended result to a second scratch
/// file, which ``emit(_:into:)`` reads. Memory: one window's engine and a few sections.
final class WindowedTiltSplit: TiltSplitEngine {
    let size: Size3
    let bins: Int
    let bytes: Int
    /// The windows planned; deeper ones when the geometry has too many tilts for them.
    private(set) var windows: DepthWindows
    private let input: ScratchFile
    private let output: ScratchFile
    private var samples: PlaneSamples?
    /// What denoises each window away from the band along the tilt axis when the window fits in
    /// memory with it (trained once, on the first such window), else nil: the filter alone.
    let refiner: (any SplitRefiner)?

    /// Sections moved at a time between the scratch files and a window's engine.
    private static let chunkSections = 4

    init(size: Size3, bins: Int, bytes: Int, windows: DepthWindows, sampleGeometry: Bool, refiner: (any SplitRefiner)? = nil) throws {
        self.size = size
        self.refiner = refiner
        self.bins = bins
        self.bytes = bytes
        self.windows = windows
        let volume = Int64(size.voxelCount) * 4
        input = try ScratchFile(purpose: "scratch copy of the tomogram for s2s", bytes: volume)
        output = try ScratchFile(purpose: "s2s's blended windows", bytes: volume)
        samples = sampleGeometry ? PlaneSamples(size: size) : nil
    }

    /// Bytes of the sections moved at a time (two buffers).
    static func chunkBytes(_ size: Size3) -> Int { 2 * chunkSections * size.sectionVoxels * 4 }

    /// Bytes of a window of `size` split in memory with `refiner`.
    static func refinedBytes(_ size: Size3, _ refiner: any SplitRefiner) -> Int {
        InMemoryTiltSplit.bytes(size, refined: true) + refiner.memoryBytes
    }

    /// The size of the deepest window.
    static func windowSize(_ size: Size3, _ windows: DepthWindows) -> Size3 {
        Size3(x: size.x, y: size.y, z: windows.windows.map(\.count).max()!)
    }

    /// The least memory: the deepest window out of core, the chunks and the sample planes.
    static func minimumBytes(_ size: Size3, windows: DepthWindows) -> Int {
        max(OutOfCoreTiltSplit.minimumBytes(windowSize(size, windows)) + chunkBytes(size), PlaneSamples.bytes(for: size))
    }

    func absorb(_ sections: UnsafePointer<Float>, from z: Int, count: Int) throws {
        try move(input, z..<z + count, UnsafeMutablePointer(mutating: sections), writing: true)
        samples?.absorb(sections, from: z, count: count)
    }

    /// Writes `sections` from `pointer` to `file` (`writing`), or reads them into it.
    private func move(_ file: ScratchFile, _ sections: Range<Int>, _ pointer: UnsafeMutablePointer<Float>, writing: Bool) throws {
        try file.move(pointer, bytes: sections.count * size.sectionVoxels * 4, at: Int64(sections.lowerBound) * Int64(size.sectionVoxels) * 4, writing: writing)
    }

    func finish(split: TiltSplit, knownGeometry: TiltSplit.Geometry?, source: String) throws -> HalfSpectrumWiener.Summary {
        let geometry = try knownGeometry ?? split.geometry(of: samples!, source: source, log: Log.info)
        samples = nil
        let width = geometry.fit.axis == .y ? size.x : size.y
        let least = DepthWindows.minimumSections(tilts: geometry.fit.degrees.count, width: width)
        if windows.windows[0].count < least {
            windows = DepthWindows(depth: size.z, window: min(size.z, least))
        }
        if windows.windows.count == 1 {
            Log.info("split whole: \(geometry.fit.degrees.count) tilts on planes \(width) wide need windows of at least \(least) sections")
        } else {
            Log.info("split and filtered in \(windows.windows.count) windows of sections along Z: \(windows.windows.map { "\($0.lowerBound)..<\($0.upperBound)" }.joined(separator: ", "))")
        }
        let engineBytes = bytes - Self.chunkBytes(size)
        let needed = OutOfCoreTiltSplit.minimumBytes(Self.windowSize(size, windows))
        guard needed <= engineBytes else {
            // Only when the windows had to deepen for the tilts found (the plan assumed fewer).
            throw FilterError.memoryBudget(what: "s2s splitting windows of \(windows.windows[0].count) sections (\(geometry.fit.degrees.count) tilts)", needed: needed + Self.chunkBytes(size), budget: bytes)
        }
        let weights = windows.weights
        let plane = size.sectionVoxels
        var chunk = [Float](repeating: 0, count: Self.chunkSections * plane), blended = chunk
        var summary = HalfSpectrumWiener.Summary(keptPower: 0, signalShare: 0)
        var written = 0
        let windowedSections = windows.windows.reduce(0) { $0 + $1.count }
        for (window, weight) in zip(windows.windows, weights) {
            let windowSize = Size3(x: size.x, y: size.y, z: window.count)
            let engine: any TiltSplitEngine
            if let refiner, Self.refinedBytes(windowSize, refiner) <= engineBytes {
                engine = InMemoryTiltSplit(size: windowSize, bins: bins, refiner: refiner)
            } else if InMemoryTiltSplit.bytes(windowSize) <= engineBytes {
                engine = InMemoryTiltSplit(size: windowSize, bins: bins)
            } else {
                engine = try OutOfCoreTiltSplit(size: windowSize, bins: bins, bytes: engineBytes, sampleGeometry: false)
            }
            for z0 in stride(from: window.lowerBound, to: window.upperBound, by: Self.chunkSections) {
                let n = min(Self.chunkSections, window.upperBound - z0)
                try chunk.withUnsafeMutableBufferPointer { try move(input, z0..<z0 + n, $0.baseAddress!, writing: false) }
                try chunk.withUnsafeBufferPointer { try engine.absorb($0.baseAddress!, from: z0 - window.lowerBound, count: n) }
            }
            var windowGeometry = geometry
            windowGeometry.fit = geometry.fit.window(from: window.lowerBound, depth: window.count, of: size.z)
            let part = try engine.finish(split: split, knownGeometry: windowGeometry, source: source)
            let share = Double(window.count) / Double(windowedSections)
            summary.keptPower += share * part.keptPower
            summary.signalShare += share * part.signalShare
            summary.refined = summary.refined || part.refined
            // Blend: sections already written by earlier windows get this window's part added.
            for z0 in stride(from: window.lowerBound, to: window.upperBound, by: Self.chunkSections) {
                let n = min(Self.chunkSections, window.upperBound - z0)
                try chunk.withUnsafeMutableBufferPointer { try engine.emit(z0 - window.lowerBound..<z0 - window.lowerBound + n, into: $0.baseAddress!) }
                let earlier = max(0, min(n, written - z0))
                if earlier > 0 {
                    try blended.withUnsafeMutableBufferPointer { try move(output, z0..<z0 + earlier, $0.baseAddress!, writing: false) }
                }
                chunk.withUnsafeBufferPointer { c in
                    blended.withUnsafeMutableBufferPointer { b in
                        for s in 0..<n {
                            let w = weight[z0 - window.lowerBound + s]
                            let (from, to) = (c.baseAddress! + s * plane, b.baseAddress! + s * plane)
                            if s < earlier {
                                for i in 0..<plane { to[i] += w * from[i] }
                            } else {
                                for i in 0..<plane { to[i] = w * from[i] }
                            }
                        }
                    }
                }
                try blended.withUnsafeMutableBufferPointer { try move(output, z0..<z0 + n, $0.baseAddress!, writing: true) }
            }
            written = max(written, window.upperBound)
        }
        return summary
    }

    func emit(_ sections: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        try move(output, sections, destination, writing: false)
    }
}
