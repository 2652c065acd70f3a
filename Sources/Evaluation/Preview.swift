import FilterKit

/// A before/after picture of volumes, laid out as 3dmod and ChimeraX show orthogonal sections:
/// for each volume a labelled block with its central XY section, the YZ section beside it (Z to
/// the right, rows aligned with XY's) and the XZ section below it (Z downwards, columns aligned
/// with XY's); a scale bar in nm on the XY section when the voxel size is known. Contrast runs
/// from percentiles of each block's sections, or of all blocks' when shared.
public struct Preview {
    /// The three central sections of one volume.
    public struct Sections {
        public let size: Size3
        /// Voxel size in Å along X (0 when unknown).
        public let voxelSize: Float
        /// X × Y at z = nz/2, X × Z at y = ny/2, Y × Z at x = nx/2 (first index fastest).
        public var xy: [Float], xz: [Float], yz: [Float]

        /// Reads `reader` once, section by section, keeping only what the picture shows.
        public init(reading reader: VolumeReader) throws {
            let s = reader.info.size
            var recorder = SectionRecorder(info: reader.info)
            var plane = [Float](repeating: 0, count: s.sectionVoxels)
            for z in 0..<s.z {
                try plane.withUnsafeMutableBufferPointer { try reader.readSections(z..<(z + 1), into: $0.baseAddress!) }
                recorder.record(rows: s.y, from: z * s.y, values: plane)
            }
            self = recorder.sections!
        }

        /// Sections given directly (tests, reports): `xy` is X × Y, `xz` X × Z, `yz` Y × Z.
        public init(size: Size3, voxelSize: Float, xy: [Float], xz: [Float], yz: [Float]) {
            precondition(xy.count == size.x * size.y && xz.count == size.x * size.z && yz.count == size.y * size.z)
            self.size = size
            self.voxelSize = voxelSize
            (self.xy, self.xz, self.yz) = (xy, xz, yz)
        }

        var values: [Float] { xy + xz + yz }
    }

    /// Gap between panels and between blocks, in pixels.
    public static let gap = 4
    /// Space around a label, in pixels.
    static let labelPadding = 3

    public let rows: [Sections]
    /// One label per row, drawn above it (none: no label strip).
    public var labels: [String]
    /// Contrast: grey 0 at this lower percentile, 255 at the upper one.
    public var lower = 1.0, upper = 99.0
    /// One contrast window for every row (from all their sections) instead of one per row.
    public var sameContrast = false
    /// Each voxel becomes `scale × scale` pixels.
    public var scale = 1

    public init(rows: [Sections], labels: [String] = []) {
        precondition(labels.isEmpty || labels.count == rows.count)
        self.rows = rows
        self.labels = labels
    }

    /// Font pixels per label pixel: larger text for wide pictures.
    var textSize: Int { blockWidth >= 480 ? 3 : blockWidth >= 240 ? 2 : 1 }

    /// The height of the label strip above each block.
    var labelHeight: Int { labels.isEmpty ? 0 : BitmapFont.height * textSize + 2 * Preview.labelPadding }

    private var blockWidth: Int { rows.map { ($0.size.x + $0.size.z) * scale + Preview.gap }.max() ?? 0 }

    private func blockHeight(_ s: Sections) -> Int { (s.size.y + s.size.z) * scale + Preview.gap }

    /// Width and height in pixels.
    public var pixelSize: (width: Int, height: Int) {
        let heights = rows.map { labelHeight + blockHeight($0) }
        return (blockWidth, heights.reduce(0, +) + Preview.gap * max(0, rows.count - 1))
    }

    /// The contrast window of each row.
    func windows() -> [(lower: Float, upper: Float)] {
        func window(_ values: [Float]) -> (lower: Float, upper: Float) {
            let sorted = values.filter(\.isFinite).sorted()
            guard !sorted.isEmpty else { return (0, 1) }
            let at = { (p: Double) in sorted[min(sorted.count - 1, Int(p / 100 * Double(sorted.count - 1)))] }
            return (at(lower), at(upper))
        }
        if sameContrast {
            let shared = window(rows.flatMap(\.values))
            return rows.map { _ in shared }
        }
        return rows.map { window($0.values) }
    }

    /// The picture: white background, black labels.
    public func canvas() -> Canvas {
        let (width, height) = pixelSize
        var canvas = Canvas(width: width, height: height, background: 255)
        var top = 0
        for (i, (row, window)) in zip(rows, windows()).enumerated() {
            if !labels.isEmpty {
                canvas.text(labels[i], x: Preview.labelPadding, y: top + Preview.labelPadding, size: textSize, 0)
                top += labelHeight
            }
            let s = row.size, k = scale
            let right = s.x * k + Preview.gap, below = top + s.y * k + Preview.gap
            canvas.section(x: 0, y: top, columns: s.x, rows: s.y, scale: k, window: window) { u, v in row.xy[v * s.x + u] }
            canvas.section(x: right, y: top, columns: s.z, rows: s.y, scale: k, window: window) { u, v in row.yz[u * s.y + v] }
            canvas.section(x: 0, y: below, columns: s.x, rows: s.z, scale: k, window: window) { u, v in row.xz[v * s.x + u] }
            drawScaleBar(on: &canvas, row, left: 0, top: top)
            top += blockHeight(row) + Preview.gap
        }
        return canvas
    }

    /// The scale bar's length in nm: 1, 2 or 5 × 10ⁿ, at most a quarter of the section's width;
    /// nil without a voxel size or when it would be shorter than 8 pixels.
    static func scaleBar(nanometresAcross width: Double, pixelsAcross pixels: Int) -> Double? {
        guard width > 0, pixels > 0 else { return nil }
        var best: Double?
        var decade = 1e-3
        while decade <= width {
            for m in [1.0, 2.0, 5.0] where m * decade <= width / 4 { best = m * decade }
            decade *= 10
        }
        guard let length = best, length / width * Double(pixels) >= 8 else { return nil }
        return length
    }

    /// A white bar with its length above it, on a black box in the XY section's lower-left corner.
    private func drawScaleBar(on canvas: inout Canvas, _ row: Sections, left: Int, top: Int) {
        let pixelsAcross = row.size.x * scale
        let nanometres = Double(row.voxelSize) / 10 * Double(row.size.x)
        guard let length = Preview.scaleBar(nanometresAcross: nanometres, pixelsAcross: pixelsAcross) else { return }
        let barPixels = Int((length / nanometres * Double(pixelsAcross)).rounded())
        let text = "\(length >= 1 ? String(Int(length)) : String(length)) nm"
        let t = max(1, textSize - 1), thickness = 2 * t + 1
        let boxWidth = max(barPixels, BitmapFont.width(of: text) * t) + 6
        let boxHeight = BitmapFont.height * t + thickness + 9
        let boxTop = top + row.size.y * scale - boxHeight - 3
        guard boxTop >= top, boxWidth + 3 <= pixelsAcross else { return }
        canvas.fill(x: left + 3, y: boxTop, w: boxWidth, h: boxHeight, 0)
        canvas.text(text, x: left + 6, y: boxTop + 3, size: t, 255)
        canvas.fill(x: left + 6, y: boxTop + 6 + BitmapFont.height * t, w: barPixels, h: thickness, 255)
    }

    /// The picture as PNG bytes.
    public func png() throws -> [UInt8] { try canvas().png() }
}
