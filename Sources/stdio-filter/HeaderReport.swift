import FilterKit

/// The `info` report of one MRC file: raw fields and their interpretation, as text or JSON.
struct HeaderReport {
    let reader: MRCReader

    private var header: MRCHeader { reader.header }
    private var info: VolumeInfo { reader.info }

    static let modeNames: [Int: String] = [
        0: "byte", 1: "16-bit integer", 2: "32-bit real", 6: "16-bit unsigned integer",
        12: "16-bit real (float16)", 101: "4-bit unsigned, packed",
    ]

    /// Tilt angles from a SERI extended header (flag 1 of nreal: angle × 100 as int16 first).
    var extendedTiltAngles: [Float] {
        guard let mrc = info.mrc, mrc.extendedHeaderType == "SERI", !mrc.isBigEndian,
            header.imodNreal & 1 != 0, header.imodNint >= 2
        else { return [] }
        let stride = header.imodNint
        let count = min(header.nz, mrc.extendedHeader.count / stride)
        return (0..<count).map { k in
            let lo = UInt16(mrc.extendedHeader[k * stride]), hi = UInt16(mrc.extendedHeader[k * stride + 1])
            return Float(Int16(bitPattern: lo | hi << 8)) / 100
        }
    }

    private func fixed(_ value: Float, _ digits: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale: Float = 1
        for _ in 0..<digits { scale *= 10 }
        let rounded = (Double(value) * Double(scale)).rounded() / Double(scale)
        var text = "\(rounded)"
        if text.contains("e") { return "\(value)" }
        let decimals = text.split(separator: ".").last?.count ?? 0
        if digits > decimals { text += String(repeating: "0", count: digits - decimals) }
        return text
    }

    private func columns(_ values: [String], width: Int = 10) -> String {
        values.map { String(repeating: " ", count: max(1, width - $0.count)) + $0 }.joined()
    }

    func text() -> String {
        let h = header
        var lines: [String] = []
        func line(_ label: String, _ value: String) {
            let dots = String(repeating: ".", count: max(2, 40 - label.count))
            lines.append(" \(label) \(dots) \(value)")
        }
        lines.append(" \(reader.sourceName)")
        line("Number of columns, rows, sections", columns([h.nx, h.ny, h.nz].map(String.init), width: 7))
        line("Map mode", "\(h.mode)   (\(HeaderReport.modeNames[h.mode] ?? "unknown"))")
        let start = h.nStart, m = h.sampling
        line("Start cols, rows, sects, grid x,y,z", columns([start.x, start.y, start.z, m.x, m.y, m.z].map { String($0) }, width: 7))
        line("Pixel spacing (Angstroms)", columns((0..<3).map { fixed(info.voxelSize[$0], 4) }, width: 11))
        line("Cell angles", columns((0..<3).map { fixed(h.cellAngles[$0], 3) }))
        let axes = ["X", "Y", "Z"]
        line("Fast, medium, slow axes", [h.axisMap.x, h.axisMap.y, h.axisMap.z].map { (1...3).contains($0) ? "    " + axes[Int($0) - 1] : "    ?" }.joined())
        line("Origin on x,y,z", columns((0..<3).map { fixed(info.origin[$0], 3) }, width: 12))
        line("Minimum density", "\(h.dmin)")
        line("Maximum density", "\(h.dmax)")
        line("Mean density", "\(h.dmean)")
        line("RMS deviation", h.rms.map { "\($0)" } ?? "(none: pre-2000 header)")
        line("tilt angles (original,current)", h.tiltAngles.map { fixed($0, 1) }.joined(separator: "  "))
        line("Space group,# extended bytes,# labels", columns([h.ispg, h.nsymbt, h.nlabl].map(String.init), width: 6))
        let extType = info.mrc?.extendedHeaderType ?? ""
        let declared = h.extendedHeaderType
        var extText = extType.isEmpty ? (h.nsymbt > 0 ? "unknown ('\(declared)')" : "none") : extType
        if !extType.isEmpty && extType != declared.trimmingBlanks() { extText += " (inferred; EXTTYP field '\(declared)')" }
        if extType == "SERI" || extType == "AGAR" { extText += ", nint \(h.imodNint), nreal \(h.imodNreal)" }
        line("Extended header type", extText)
        let angles = extendedTiltAngles
        if !angles.isEmpty {
            let shown = angles.prefix(12).map { fixed($0, 2) }.joined(separator: " ")
            line("Tilt angles in extended header", shown + (angles.count > 12 ? " … (\(angles.count))" : ""))
        }
        let stamp = h.machineStamp.map { String($0, radix: 16, uppercase: true).leftPadded(2) }.joined(separator: " ")
        line("Byte order, machine stamp, NVERSION", "\(h.isBigEndian ? "big" : "little")-endian   \(stamp)   \(h.nversion)\(h.isOldStyle ? "   (pre-2000 header)" : "")")
        if h.hasIMODStamp { line("IMOD stamp, flags", "yes, \(h.imodFlags)") }
        lines.append("")
        lines.append(" Read as:")
        line("Size X, Y, Z (voxels)", "\(info.size.x) × \(info.size.y) × \(info.size.z)")
        var typeText = "\(info.elementType)"
        if let rule = reader.layout.mode0Rule { typeText += " (\(rule))" }
        line("Stored type", typeText)
        line("Voxel size X, Y, Z (Å)", (0..<3).map { info.voxelSize[$0] > 0 ? "\(info.voxelSize[$0])" : "unknown" }.joined(separator: ", "))
        line("Origin X, Y, Z (Å)", (0..<3).map { "\(info.origin[$0])" }.joined(separator: ", "))
        line("Sections are", "\(info.kind)")
        if !reader.layout.isXYZ { line("Axis order", "stored \(h.axisMap.x),\(h.axisMap.y),\(h.axisMap.z), reordered to X,Y,Z") }
        line("Data offset, data bytes", "\(MRCHeader.byteCount + (info.mrc?.extendedHeader.count ?? 0)), \(reader.layout.dataBytes)")
        lines.append("")
        let labels = h.labels
        lines.append(String(repeating: " ", count: 5) + "\(labels.count) Titles :")
        lines.append(contentsOf: labels.map { " " + $0 })
        return lines.joined(separator: "\n") + "\n"
    }

    func json() -> String {
        let h = header
        func array<T>(_ values: [T]) -> String { "[" + values.map { "\($0)" }.joined(separator: ", ") + "]" }
        func number(_ v: Float) -> String { v.isFinite ? "\(v)" : "null" }
        var fields: [(String, String)] = [
            ("source", JSONText.quoted(reader.sourceName)),
            ("size", array([info.size.x, info.size.y, info.size.z])),
            ("stored_size", array([h.nx, h.ny, h.nz])),
            ("mode", "\(h.mode)"),
            ("element_type", JSONText.quoted("\(info.elementType)")),
            ("voxel_size", array((0..<3).map { number(info.voxelSize[$0]) })),
            ("origin", array((0..<3).map { number(info.origin[$0]) })),
            ("grid_start", array((0..<3).map { info.gridStart[$0] })),
            ("axis_order", array([h.axisMap.x, h.axisMap.y, h.axisMap.z])),
            ("kind", JSONText.quoted("\(info.kind)")),
            ("ispg", "\(h.ispg)"),
            ("nsymbt", "\(h.nsymbt)"),
            ("extended_header_bytes", "\(info.mrc?.extendedHeader.count ?? 0)"),
            ("extended_header_type", JSONText.quoted(info.mrc?.extendedHeaderType ?? "")),
            ("exttyp_field", JSONText.quoted(h.extendedHeaderType)),
            ("nversion", "\(h.nversion)"),
            ("big_endian", "\(h.isBigEndian)"),
            ("pre2000_header", "\(h.isOldStyle)"),
            ("dmin", number(h.dmin)), ("dmax", number(h.dmax)), ("dmean", number(h.dmean)),
            ("rms", h.rms.map(number) ?? "null"),
            ("labels", "[" + h.labels.map(JSONText.quoted).joined(separator: ", ") + "]"),
            ("warnings", "[" + reader.warnings.map(JSONText.quoted).joined(separator: ", ") + "]"),
        ]
        let angles = extendedTiltAngles
        if !angles.isEmpty { fields.append(("tilt_angles", array(angles))) }
        return "{\n" + fields.map { "  \(JSONText.quoted($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }

    func trimmingBlanks() -> String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        while s.first == " " { s = s.dropFirst() }
        return String(s)
    }
}
