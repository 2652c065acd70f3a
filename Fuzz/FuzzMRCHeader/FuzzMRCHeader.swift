import FilterKit

/// The MRC header and extended-header parser, in memory: the input's first 1024 bytes are the
/// header (padded with zeros when shorter), the bytes after it the extended header (as much of
/// NSYMBT as the input holds). Every field a reader derives is computed, as `info` shows them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMRCHeader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    var headerBytes = Array(input.prefix(MRCHeader.byteCount))
    headerBytes += repeatElement(0, count: MRCHeader.byteCount - headerBytes.count)
    guard let header = try? MRCHeader(bytes: headerBytes, source: "fuzz"),
        let layout = try? MRCLayout(header: header, source: "fuzz")
    else { return 0 }
    let extended = Array(input.dropFirst(MRCHeader.byteCount).prefix(layout.declaredExtendedHeaderBytes))
    let (info, warnings) = MRCReader.describe(header: header, layout: layout, headerBytes: headerBytes, extendedHeader: extended, name: "fuzz.st")
    _ = (info.kind, info.voxelSize, info.labels, warnings, layout.mode0Rule, layout.sectionBytes, header.labels)
    return 0
}
