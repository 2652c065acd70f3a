/// The 1024-byte MRC main header, kept as bytes with typed accessors in the file's byte order.
///
/// Field offsets follow MRC2014 (CCP-EM, Cheng et al. 2015). Parsing decides the byte order;
/// ``MRCLayout`` interprets the fields (mode, axis order, voxel size, origin).
public struct MRCHeader: Sendable, Equatable {
    /// Size of the main header in bytes.
    public static let byteCount = 1024

    /// The raw header bytes.
    public private(set) var bytes: [UInt8]
    /// Whether the numbers are big-endian.
    public var isBigEndian: Bool

    /// A zeroed little-endian header.
    public init() {
        bytes = [UInt8](repeating: 0, count: MRCHeader.byteCount)
        isBigEndian = false
    }

    /// Wraps 1024 header bytes read from a file, deciding their byte order.
    ///
    /// The order is decided by plausibility (a known MODE and 0 < NX, NY, NZ < 2²⁴), as IMOD and
    /// ChimeraX do; the machine stamp only breaks a tie when both orders look valid.
    public init(bytes: [UInt8], source: String) throws {
        precondition(bytes.count == MRCHeader.byteCount)
        self.bytes = bytes
        isBigEndian = false
        let littleOK = plausible()
        isBigEndian = true
        let bigOK = plausible()
        switch (littleOK, bigOK) {
        case (true, false): isBigEndian = false
        case (false, true): isBigEndian = true
        case (true, true): isBigEndian = bytes[212] == 0x11
        case (false, false):
            isBigEndian = false
            throw implausibility(source: source)
        }
    }

    // MARK: Raw access

    @inlinable
    public func int32(at offset: Int) -> Int32 {
        let raw = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
        return Int32(bitPattern: isBigEndian ? raw.byteSwapped : raw)
    }

    @inlinable
    public func int16(at offset: Int) -> Int16 {
        let raw = UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
        return Int16(bitPattern: isBigEndian ? raw.byteSwapped : raw)
    }

    @inlinable
    public func float32(at offset: Int) -> Float { Float(bitPattern: UInt32(bitPattern: int32(at: offset))) }

    public mutating func setInt32(_ value: Int32, at offset: Int) {
        let raw = isBigEndian ? UInt32(bitPattern: value).byteSwapped : UInt32(bitPattern: value)
        for k in 0..<4 { bytes[offset + k] = UInt8(truncatingIfNeeded: raw >> (8 * UInt32(k))) }
    }

    public mutating func setInt16(_ value: Int16, at offset: Int) {
        let raw = isBigEndian ? UInt16(bitPattern: value).byteSwapped : UInt16(bitPattern: value)
        bytes[offset] = UInt8(truncatingIfNeeded: raw)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: raw >> 8)
    }

    public mutating func setFloat32(_ value: Float, at offset: Int) {
        setInt32(Int32(bitPattern: value.bitPattern), at: offset)
    }

    public mutating func setBytes<C: Collection>(_ values: C, at offset: Int) where C.Element == UInt8 {
        for (k, b) in values.enumerated() { bytes[offset + k] = b }
    }

    /// Four bytes as text, with NULs shown as spaces and other unprintable bytes as `\xNN`.
    public func text4(at offset: Int) -> String { MRCHeader.printable(bytes[offset..<offset + 4]) }

    static func printable<C: Collection>(_ raw: C) -> String where C.Element == UInt8 {
        raw.map { b in
            b == 0 ? " " : (32..<127).contains(b) ? String(UnicodeScalar(b)) : "\\x" + String(b, radix: 16, uppercase: true)
        }.joined()
    }

    // MARK: Named fields (column/row/section order where MRC says so)

    public var nx: Int { Int(int32(at: 0)) }
    public var ny: Int { Int(int32(at: 4)) }
    public var nz: Int { Int(int32(at: 8)) }
    public var mode: Int { Int(int32(at: 12)) }
    public var nStart: SIMD3<Int32> { SIMD3(int32(at: 16), int32(at: 20), int32(at: 24)) }
    public var sampling: SIMD3<Int32> { SIMD3(int32(at: 28), int32(at: 32), int32(at: 36)) }
    public var cellLengths: SIMD3<Float> { SIMD3(float32(at: 40), float32(at: 44), float32(at: 48)) }
    public var cellAngles: SIMD3<Float> { SIMD3(float32(at: 52), float32(at: 56), float32(at: 60)) }
    public var axisMap: SIMD3<Int32> { SIMD3(int32(at: 64), int32(at: 68), int32(at: 72)) }
    public var dmin: Float { float32(at: 76) }
    public var dmax: Float { float32(at: 80) }
    public var dmean: Float { float32(at: 84) }
    public var ispg: Int { Int(int32(at: 88)) }
    public var nsymbt: Int { Int(int32(at: 92)) }
    public var extendedHeaderType: String { text4(at: 104) }
    public var nversion: Int { Int(int32(at: 108)) }
    /// IMOD: bytes per section of a SERI extended header.
    public var imodNint: Int { Int(int16(at: 128)) }
    /// IMOD: flags of what a SERI record holds.
    public var imodNreal: Int { Int(int16(at: 130)) }
    /// IMOD stamp (1146047817, "IMOD") when ``imodFlags`` is meaningful.
    public var imodStamp: Int32 { int32(at: 152) }
    public var imodFlags: Int32 { int32(at: 156) }
    public var hasIMODStamp: Bool { imodStamp == MRCHeader.imodStampValue }
    public static let imodStampValue: Int32 = 1_146_047_817
    /// Tilt angles (original x,y,z, current x,y,z) in IMOD's extra space.
    public var tiltAngles: [Float] { (0..<6).map { float32(at: 172 + 4 * $0) } }
    public var mapID: String { text4(at: 208) }
    public var machineStamp: [UInt8] { Array(bytes[212..<216]) }
    public var nlabl: Int { Int(int32(at: 220)) }

    /// Whether the header predates MRC2000: no `MAP ` at 208 and the bytes there are in use (origin).
    ///
    /// cryoDRGN-style headers with `MAP` and MACHST both zero are read as MRC2014 (origin at 196).
    public var isOldStyle: Bool {
        bytes[208..<212].elementsEqual("MAP ".utf8) == false && bytes[208..<216].contains { $0 != 0 }
    }

    /// ORIGIN in Å along the file's X, Y, Z (pre-2000 headers: zorg@208, xorg@212, yorg@216).
    public var rawOrigin: SIMD3<Float> {
        isOldStyle
            ? SIMD3(float32(at: 212), float32(at: 216), float32(at: 208))
            : SIMD3(float32(at: 196), float32(at: 200), float32(at: 204))
    }

    /// RMS deviation; nil in pre-2000 headers (that slot holds an origin).
    public var rms: Float? { isOldStyle ? nil : float32(at: 216) }

    /// The labels in use: the first NLABL (clamped to 0…10), trailing blanks and NULs removed.
    public var labels: [String] {
        let count = min(max(nlabl, 0), 10)
        return (0..<count).map { i in
            let raw = bytes[(224 + 80 * i)..<(224 + 80 * (i + 1))]
            let end = raw.lastIndex { $0 != 0 && $0 != 32 }.map { $0 + 1 } ?? raw.startIndex
            return String(decoding: raw[raw.startIndex..<end].map { (32..<127).contains($0) ? $0 : 63 }, as: UTF8.self)
        }
    }

    // MARK: Byte order

    static let knownModes = Set(MRCMode.table.map(\.mode) + MRCMode.refusedModes)
    static let maximumDimension = 1 << 24

    private func plausible() -> Bool {
        guard MRCHeader.knownModes.contains(mode) else { return false }
        for n in [nx, ny, nz] where n <= 0 || n >= MRCHeader.maximumDimension { return false }
        return true
    }

    /// The first field that makes the header impossible, read as little-endian.
    private func implausibility(source: String) -> FilterError {
        let limit = "1…\(MRCHeader.maximumDimension - 1) in either byte order"
        for (name, offset, value) in [("NX", 0, nx), ("NY", 4, ny), ("NZ", 8, nz)]
        where value <= 0 || value >= MRCHeader.maximumDimension {
            return .badHeader(source: source, field: name, offset: offset, found: "\(value)", expected: limit)
        }
        return .badHeader(
            source: source, field: "MODE", offset: 12, found: "\(mode)",
            expected: "one of \(MRCMode.readableCommaList) in either byte order (not an MRC file?)")
    }
}
