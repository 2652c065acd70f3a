import FilterKit
import StageCatalog

/// A 64×48×40 float32 volume of zeros with a 10 Å voxel, never actually read: plans are made
/// before the first voxel.
final class UnreadVolume: VolumeReader {
    let info = VolumeInfo(size: Size3(x: 64, y: 48, z: 40), elementType: .float32, voxelSize: SIMD3(repeating: 10))
    let sourceName = "fuzz"
    let warnings: [String] = []
    let supportsRandomAccess = true
    func readRows(from firstRow: Int, count: Int, into destination: UnsafeMutablePointer<Float>) throws {
        destination.update(repeating: 0, count: count * info.size.x)
    }
}

/// The chain-spec parser (`run --chain`) and every stage's parameter checks: a chain that parses
/// is built and planned (output geometry, memory) for a small volume, as `run` does before it
/// reads a voxel.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChainSpec(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let spec = try? ChainSpec.parse(text), let stages = try? stageRegistry.makeChain(spec) else { return 0 }
    _ = try? Pipeline(reader: UnreadVolume(), stages: stages, options: PipelineOptions(memoryBudget: 256 << 20))
    return 0
}
