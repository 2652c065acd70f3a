/// The ImageJ/Fiji metadata in a TIFF's first ImageDescription: `key=value` lines such as
/// `ImageJ=1.53t`, `images=12`, `channels=2`, `slices=3`, `frames=2`, `unit=nm`, `spacing=2.0`.
///
/// Planes are stored channel fastest, then slice, then frame.
public struct ImageJDescription: Sendable, Equatable {
    public var version: String
    /// Planes in the file (channels · slices · frames); nil when absent.
    public var images: Int?
    public var channels: Int
    public var slices: Int?
    public var frames: Int
    /// Length unit of the resolution tags and `spacing`, as ImageJ writes it (`nm`, `micron`…).
    public var unit: String?
    /// Z spacing, in `unit`.
    public var spacing: Double?

    /// Parses a description; nil when it is not ImageJ's (no leading `ImageJ=` line) or is malformed.
    public init?(_ text: String) {
        guard text.utf8.starts(with: "ImageJ=".utf8) else { return nil }
        var fields: [Substring: Substring] = [:]
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            fields[line[..<eq].trimmingSpaces()] = line[line.index(after: eq)...].trimmingSpaces()
        }
        guard text.hasPrefix("ImageJ="), let version = fields["ImageJ"] else { return nil }
        func count(_ key: Substring) -> Int?? {
            guard let v = fields[key] else { return .some(nil) }
            guard let n = Int(v), n >= 1, n <= 1 << 30 else { return nil }
            return .some(n)
        }
        guard let images = count("images"), let channels = count("channels"), let slices = count("slices"),
            let frames = count("frames")
        else { return nil }
        self.version = String(version)
        self.images = images
        self.channels = channels ?? 1
        self.slices = slices
        self.frames = frames ?? 1
        unit = fields["unit"].map { ImageJDescription.unescape(String($0)) }
        spacing = fields["spacing"].flatMap { Double($0) }.flatMap { $0.isFinite && $0 > 0 ? $0 : nil }
    }

    /// Slices per channel and frame: `slices`, else what `images` leaves.
    public var sliceCount: Int {
        slices ?? max(1, (images ?? channels * frames) / max(1, channels * frames))
    }

    /// Ångström per `unit`, or nil for `pixel` and units that are not lengths.
    public static func angstroms(perUnit unit: String) -> Double? {
        switch unit.lowercased() {
        case "a", "å", "\u{212B}", "angstrom", "angstroms": return 1
        case "nm", "nanometer", "nanometers", "nanometre", "nanometres": return 10
        case "micron", "microns", "um", "µm", "\u{03BC}m", "micrometer", "micrometers", "micrometre": return 1e4
        case "mm", "millimeter", "millimeters": return 1e7
        case "cm", "centimeter", "centimeters": return 1e8
        case "m", "meter", "meters", "metre": return 1e10
        case "inch", "inches", "in": return 2.54e8
        default: return nil
        }
    }

    /// ImageJ escapes non-ASCII units as `\u00C5`.
    static func unescape(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let r = rest.range(of: "\\u"), rest.distance(from: r.upperBound, to: rest.endIndex) >= 4 {
            out += rest[..<r.lowerBound]
            let hex = rest[r.upperBound..<rest.index(r.upperBound, offsetBy: 4)]
            if let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u" + hex
            }
            rest = rest[rest.index(r.upperBound, offsetBy: 4)...]
        }
        return out + rest
    }

    /// The description ImageJ writes for a Z stack of `slices` planes.
    public static func text(slices: Int, unit: String?, spacing: Double?) -> String {
        var lines = ["ImageJ=1.11a", "images=\(slices)", "slices=\(slices)"]
        if let unit { lines.append("unit=\(unit)") }
        if let spacing { lines.append("spacing=\(spacing)") }
        lines.append("loop=false")
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
