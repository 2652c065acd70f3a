import CPNG
import FilterKit

/// A before/after picture of volumes: for each volume a row with its central XY, XZ and YZ
/// sections side by side (XZ and YZ with Z downwards), contrast from the percentiles of those
/// sections, as an 8-bit grey PNG encoded by libpng.
public struct Preview {
    /// The three central sections of one volume.
    public struct Sections {
        public let size: Size3
        /// X × Y at z = nz/2, X × Z at y = ny/2, Y × Z at x = nx/2 (first index fastest).
        public var xy: [Float], xz: [Float], yz: [Float]

        /// Reads `reader` once, section by section, keeping only what the picture shows.
        public init(reading reader: VolumeReader) throws {
            let s = reader.info.size
            size = s
            xy = []
            xz = [Float](repeating: 0, count: s.x * s.z)
            yz = [Float](repeating: 0, count: s.y * s.z)
            var plane = [Float](repeating: 0, count: s.sectionVoxels)
            for z in 0..<s.z {
                try plane.withUnsafeMutableBufferPointer { try reader.readSections(z..<(z + 1), into: $0.baseAddress!) }
                if z == s.z / 2 { xy = plane }
                for x in 0..<s.x { xz[z * s.x + x] = plane[(s.y / 2) * s.x + x] }
                for y in 0..<s.y { yz[z * s.y + y] = plane[y * s.x + s.x / 2] }
            }
        }

        /// The values at `fractions` (0…1) of the sorted finite values of the three sections.
        func percentiles(_ fractions: [Double]) -> [Float] {
            let values = (xy + xz + yz).filter(\.isFinite).sorted()
            guard !values.isEmpty else { return fractions.map { _ in 0 } }
            return fractions.map { values[min(values.count - 1, Int($0 * Double(values.count - 1)))] }
        }
    }

    /// Gap between panels and rows, in pixels.
    public static let gap = 4

    public let rows: [Sections]
    /// Contrast: grey 0 at this lower percentile, 255 at the upper one (per volume).
    public var lower = 1.0, upper = 99.0
    /// Each voxel becomes `scale × scale` pixels.
    public var scale = 1

    public init(rows: [Sections]) { self.rows = rows }

    /// Width and height in pixels.
    public var pixelSize: (width: Int, height: Int) {
        let widths = rows.map { ($0.size.x * 2 + $0.size.y) * scale + 2 * Preview.gap }
        let heights = rows.map { max($0.size.y, $0.size.z) * scale }
        return (widths.max() ?? 0, heights.reduce(0, +) + Preview.gap * max(0, rows.count - 1))
    }

    /// The picture as 8-bit grey pixels, row by row (the gaps mid-grey).
    public func pixels() -> [UInt8] {
        let (width, height) = pixelSize
        var image = [UInt8](repeating: 128, count: width * height)
        var top = 0
        for row in rows {
            let p = row.percentiles([lower / 100, upper / 100])
            let span = p[1] > p[0] ? p[1] - p[0] : 1
            func draw(_ values: [Float], _ w: Int, _ h: Int, left: Int) {
                for v in 0..<(h * scale) {
                    for u in 0..<(w * scale) {
                        let value = values[(v / scale) * w + u / scale]
                        let grey = value.isFinite ? min(255, max(0, (value - p[0]) / span * 255)).rounded() : 0
                        image[(top + v) * width + left + u] = UInt8(grey)
                    }
                }
            }
            let s = row.size
            draw(row.xy, s.x, s.y, left: 0)
            draw(row.xz, s.x, s.z, left: s.x * scale + Preview.gap)
            draw(row.yz, s.y, s.z, left: 2 * s.x * scale + 2 * Preview.gap)
            top += max(s.y, s.z) * scale + Preview.gap
        }
        return image
    }

    /// The picture as PNG bytes.
    public func png() throws -> [UInt8] {
        let (width, height) = pixelSize
        var pixels = self.pixels()
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(PNG_FORMAT_GRAY)
        var size = 0
        // First the size, then the encoding into a buffer of that size.
        guard png_image_write_to_memory(&image, nil, &size, 0, &pixels, Int32(width), nil) != 0 else {
            throw FilterError.unsupported(source: "libpng", what: "could not encode the preview: \(Preview.message(image))", hint: "")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        guard png_image_write_to_memory(&image, &bytes, &size, 0, &pixels, Int32(width), nil) != 0 else {
            throw FilterError.unsupported(source: "libpng", what: "could not encode the preview: \(Preview.message(image))", hint: "")
        }
        png_image_free(&image)
        return Array(bytes.prefix(size))
    }

    private static func message(_ image: png_image) -> String {
        var m = image.message
        return withUnsafeBytes(of: &m) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
