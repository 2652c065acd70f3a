import FilterKit

/// A stage that measures the noise correlation of its input in one prepass, as `s2s` does on its
/// training patches (same positions for the same seed, patch side and count), and passes the
/// volume through unchanged. `stdio-filter noise` runs it.
public final class NoiseProbe: PrepassStage {
    public let name = "noise"
    public let patchCount: Int, seed: UInt64
    public private(set) var patchSide: Int
    private var sampler: PatchSampler?
    /// The correlation, once the prepass ran.
    public private(set) var correlation: NoiseCorrelation?

    public init(patchCount: Int = S2SSettings().patchCount, patchSide: Int = S2SSettings().patch, seed: UInt64 = 0) {
        self.patchCount = patchCount
        self.patchSide = patchSide
        self.seed = seed
    }

    public var prepassCount: Int { 1 }

    public func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        let smallest = min(input.size.x, input.size.y, input.size.z)
        guard smallest >= 4 else {
            throw FilterError.unsuitableInput(what: "the noise input size", found: "\(input.size)", expected: "at least 4 voxels along every axis")
        }
        patchSide = min(patchSide, smallest)
        return input
    }

    public func inputBox(forOutput output: Box) -> Box { output }

    public func scratchBytes(forOutput output: Box) -> Int { patchCount * patchSide * patchSide * patchSide * 4 * 3 }

    public func prepass(_ pass: Int, sections: UnsafePointer<Float>, count: Int, info: VolumeInfo) throws {
        if sampler == nil { sampler = PatchSampler(count: patchCount, side: patchSide, volume: info.size, seed: seed) }
        sampler!.add(sections: sections, count: count, size: info.size)
    }

    public func finishPrepass(_ pass: Int) throws {
        guard let sampler, sampler.patches.allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
            throw FilterError.unsupported(source: name, what: "the volume holds NaN or infinite values", hint: "")
        }
        correlation = NoiseCorrelation.estimate(cubes: sampler.patches, side: sampler.side)
        self.sampler = nil
    }

    public func process(_ input: InputRegion, into output: OutputRegion) throws {
        output.copyPlanes(of: input)
    }
}
