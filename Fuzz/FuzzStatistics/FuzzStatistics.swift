import FilterKit
import FuzzSupport

/// Statistics files (`--stats FILE`): the JSON reader, the field checks, then what a stage does
/// with the result (the recorded chain parsed and compared, percentiles looked up, the size checked).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStatistics(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    MemoryFile.withPath(UnsafeRawBufferPointer(start: data, count: size)) { path in
        guard let stats = try? VolumeStatistics.load(path) else { return }
        _ = try? ChainSpec.canonical(ChainSpec.parse(stats.chain, allowEmpty: true))
        _ = try? stats.percentile(0.1, stage: "normalize", path: path)
        _ = try? stats.check(describes: Size3(x: 16, y: 16, z: 16), stage: "normalize", path: path)
        _ = stats.json
    }
    return 0
}
