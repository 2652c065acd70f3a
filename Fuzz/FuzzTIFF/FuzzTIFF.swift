import FilterKit
import FuzzSupport

/// The TIFF path: libtiff's parsing under our reader (page checks, ImageJ hyperstacks, the
/// > 4 GiB contiguous layout, resolution tags), and our ImageJ-description parser on the input
/// read as text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTIFF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    // A description is one TIFF tag: its first 4 KiB are plenty for the parser.
    _ = ImageJDescription(String(decoding: raw.prefix(4096), as: UTF8.self))
    MemoryFile.withPath(raw) { MemoryFile.readVolume(at: $0) }
    return 0
}
