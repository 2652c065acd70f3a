import FilterKit
import FuzzSupport

/// A whole MRC file through the reader: header, extended header, every mode's decoding, axis
/// permutations, truncation.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMRCFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    MemoryFile.withPath(UnsafeRawBufferPointer(start: data, count: size)) { MemoryFile.readVolume(at: $0) }
    return 0
}
