import FilterKit
import FuzzSupport
import S2SFilter

/// The safetensors loader: the JSON header, offsets and shapes, then a model built from the
/// metadata's configuration (`--model`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    MemoryFile.withPath(UnsafeRawBufferPointer(start: data, count: size)) { path in
        _ = try? Safetensors.read(path)
        _ = try? UNet.load(from: path)
    }
    return 0
}
