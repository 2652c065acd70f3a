import CTIFF
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide libtiff setup: its error messages are kept for our own errors (which name the
/// file and page), and each distinct warning reaches the user once through ``Log``, not per page.
enum LibTIFF {
    private struct State {
        var installed = false
        var lastError = ""
        var warned: Set<String> = []
    }

    private static let state = Mutex(State())

    /// ImageJ's private metadata tags, which libtiff does not know; harmless.
    private static let silentWarnings = ["tag 50838", "tag 50839"]

    static func installHandlers() {
        state.withLock { s in
            guard !s.installed else { return }
            s.installed = true
            TIFFSetErrorHandler { module, format, arguments in
                let message = LibTIFF.format(module, format, arguments)
                LibTIFF.state.withLock { $0.lastError = message }
            }
            TIFFSetWarningHandler { module, format, arguments in
                let message = LibTIFF.format(module, format, arguments)
                guard !LibTIFF.silentWarnings.contains(where: { message.contains($0) }) else { return }
                let first = LibTIFF.state.withLock { $0.warned.insert(message).inserted }
                if first { Log.info("warning: libtiff: \(message)") }
            }
        }
    }

    private static func format(_ module: UnsafePointer<CChar>?, _ format: UnsafePointer<CChar>?, _ arguments: CVaListPointer?) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        if let format, let arguments { _ = vsnprintf(&buffer, buffer.count, format, arguments) }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if let module, module.pointee != 0 { return "\(String(cString: module)): \(text)" }
        return text
    }

    /// The last error libtiff reported (and forgets it).
    static func takeLastError() -> String {
        state.withLock { s in
            defer { s.lastError = "" }
            return s.lastError.isEmpty ? "libtiff reported no detail" : s.lastError
        }
    }

    static func u16(_ tif: OpaquePointer, _ tag: Int32, default value: UInt16? = nil) -> UInt16? {
        var v: UInt16 = 0
        return sf_tiff_get_u16(tif, UInt32(tag), &v) == 1 ? v : value
    }

    static func u32(_ tif: OpaquePointer, _ tag: Int32) -> UInt32? {
        var v: UInt32 = 0
        return sf_tiff_get_u32(tif, UInt32(tag), &v) == 1 ? v : nil
    }

    static func float(_ tif: OpaquePointer, _ tag: Int32) -> Float? {
        var v: Float = 0
        return sf_tiff_get_float(tif, UInt32(tag), &v) == 1 ? v : nil
    }

    static func string(_ tif: OpaquePointer, _ tag: Int32) -> String? {
        var p: UnsafePointer<CChar>?
        guard sf_tiff_get_string(tif, UInt32(tag), &p) == 1, let p else { return nil }
        // Descriptions are ASCII or Latin-1 (ImageJ); decode bytes as Latin-1 when not UTF-8.
        let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p)))
        if let utf8 = String(validating: bytes, as: UTF8.self) { return utf8 }
        return String(bytes.map { Character(Unicode.Scalar($0)) })
    }

    /// Whether this libtiff can encode and decode `compression`.
    static func supports(compression: UInt16) -> Bool { TIFFIsCODECConfigured(compression) != 0 }
}

/// How one TIFF sample is stored (BitsPerSample and SampleFormat).
enum TIFFSampleType: Equatable, CustomStringConvertible {
    case uint8, int8, uint16, int16, float16, uint32, int32, float32, float64

    init?(bitsPerSample: UInt16, sampleFormat: UInt16) {
        switch (bitsPerSample, sampleFormat) {
        case (8, 1), (8, 4): self = .uint8
        case (8, 2): self = .int8
        case (16, 1), (16, 4): self = .uint16
        case (16, 2): self = .int16
        case (16, 3): self = .float16
        case (32, 1), (32, 4): self = .uint32
        case (32, 2): self = .int32
        case (32, 3): self = .float32
        case (64, 3): self = .float64
        default: return nil
        }
    }

    init(_ type: ElementType) {
        switch type {
        case .uint8, .uint4: self = .uint8
        case .int8: self = .int8
        case .uint16: self = .uint16
        case .int16: self = .int16
        case .float16: self = .float16
        case .float32: self = .float32
        }
    }

    var bytes: Int {
        switch self {
        case .uint8, .int8: return 1
        case .uint16, .int16, .float16: return 2
        case .uint32, .int32, .float32: return 4
        case .float64: return 8
        }
    }

    var bitsPerSample: UInt16 { UInt16(bytes * 8) }

    /// TIFF SampleFormat: 1 unsigned, 2 signed, 3 IEEE float.
    var sampleFormat: UInt16 {
        switch self {
        case .uint8, .uint16, .uint32: return 1
        case .int8, .int16, .int32: return 2
        case .float16, .float32, .float64: return 3
        }
    }

    /// The element type volumes of this sample type are described with (wider types compute as float32).
    var elementType: ElementType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .float16: return .float16
        case .uint32, .int32, .float32, .float64: return .float32
        }
    }

    var description: String { "\(self == .float16 || self == .float32 || self == .float64 ? "float" : (sampleFormat == 2 ? "int" : "uint"))\(bytes * 8)" }

    /// Decodes `count` samples in the given byte order to floats.
    func decode(_ source: UnsafeRawPointer, count: Int, bigEndian: Bool, to destination: UnsafeMutablePointer<Float>) {
        var i = 0
        switch self {
        case .uint8, .int8, .uint16, .int16, .float16, .float32:
            SampleCodec.decode(elementType, bigEndian: bigEndian, from: source, count: count, to: destination)
        case .uint32, .int32:
            while i < count {
                let raw = source.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self)
                let v = bigEndian ? raw.byteSwapped : raw
                destination[i] = self == .int32 ? Float(Int32(bitPattern: v)) : Float(v)
                i &+= 1
            }
        case .float64:
            while i < count {
                let raw = source.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self)
                destination[i] = Float(Double(bitPattern: bigEndian ? raw.byteSwapped : raw))
                i &+= 1
            }
        }
    }
}
