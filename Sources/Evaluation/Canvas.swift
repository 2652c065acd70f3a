import CPNG
import FilterKit

/// An 8-bit grey picture that previews and reports are drawn on: rectangles, text in the 5×7
/// ``BitmapFont``, lines, sections of a volume with a contrast window; encoded as PNG by libpng.
public struct Canvas {
    public let width: Int, height: Int
    /// Grey levels, row by row from the top.
    public private(set) var pixels: [UInt8]

    public init(width: Int, height: Int, background: UInt8) {
        self.width = max(1, width)
        self.height = max(1, height)
        pixels = [UInt8](repeating: background, count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> UInt8 {
        pixels[y * width + x]
    }

    /// Sets one pixel; points outside the canvas are ignored.
    mutating func set(_ x: Int, _ y: Int, _ grey: UInt8) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        pixels[y * width + x] = grey
    }

    /// Fills the rectangle of `w × h` pixels at (`x`, `y`), clipped to the canvas.
    mutating func fill(x: Int, y: Int, w: Int, h: Int, _ grey: UInt8) {
        let (u0, u1, v0, v1) = (max(0, x), min(width, x + w), max(0, y), min(height, y + h))
        guard u0 < u1, v0 < v1 else { return }  // wholly outside (a label wider than the canvas)
        for v in v0..<v1 {
            for u in u0..<u1 { pixels[v * width + u] = grey }
        }
    }

    /// The outline of the rectangle of `w × h` pixels at (`x`, `y`).
    mutating func frame(x: Int, y: Int, w: Int, h: Int, _ grey: UInt8) {
        fill(x: x, y: y, w: w, h: 1, grey)
        fill(x: x, y: y + h - 1, w: w, h: 1, grey)
        fill(x: x, y: y, w: 1, h: h, grey)
        fill(x: x + w - 1, y: y, w: 1, h: h, grey)
    }

    /// Copies `other` with its top-left corner at (`x`, `y`), clipped to this canvas.
    mutating func draw(_ other: Canvas, x: Int, y: Int) {
        for v in 0..<other.height where y + v >= 0 && y + v < height {
            for u in 0..<other.width where x + u >= 0 && x + u < width {
                pixels[(y + v) * width + x + u] = other.pixels[v * other.width + u]
            }
        }
    }

    /// Draws `text` with its top-left corner at (`x`, `y`), each font pixel `size × size` pixels.
    mutating func text(_ text: String, x: Int, y: Int, size: Int, _ grey: UInt8) {
        var left = x
        for c in text {
            let rows = BitmapFont.rows(c)
            for (r, bits) in rows.enumerated() {
                for col in 0..<BitmapFont.width where bits & (0x10 >> UInt8(col)) != 0 {
                    fill(x: left + col * size, y: y + r * size, w: size, h: size, grey)
                }
            }
            left += BitmapFont.advance * size
        }
    }

    /// A line from (x0, y0) to (x1, y1) (Bresenham).
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ grey: UInt8) {
        var (x, y) = (x0, y0)
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var error = dx + dy
        while true {
            set(x, y, grey)
            if x == x1 && y == y1 { break }
            let e2 = 2 * error
            if e2 >= dy { error += dy; x += sx }
            if e2 <= dx { error += dx; y += sy }
        }
    }

    /// Draws a section of `columns × rows` values (first index fastest, `value(u, v)`) at
    /// (`x`, `y`), each value `scale × scale` pixels, grey 0 at `window.lower` and 255 at
    /// `window.upper` (not-a-number black).
    mutating func section(x: Int, y: Int, columns: Int, rows: Int, scale: Int, window: (lower: Float, upper: Float), _ value: (Int, Int) -> Float) {
        let span = window.upper > window.lower ? window.upper - window.lower : 1
        for v in 0..<(rows * scale) {
            let py = y + v
            guard py >= 0, py < height else { continue }
            for u in 0..<(columns * scale) {
                let px = x + u
                guard px >= 0, px < width else { continue }
                let f = value(u / scale, v / scale)
                let grey = f.isFinite ? min(255, max(0, (f - window.lower) / span * 255)).rounded() : 0
                pixels[py * width + px] = UInt8(grey)
            }
        }
    }

    /// The picture as PNG bytes.
    public func png() throws -> [UInt8] {
        var pixels = self.pixels
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(PNG_FORMAT_GRAY)
        var size = 0
        // First the size, then the encoding into a buffer of that size.
        guard png_image_write_to_memory(&image, nil, &size, 0, &pixels, Int32(width), nil) != 0 else {
            throw FilterError.unsupported(source: "libpng", what: "could not encode the picture: \(Canvas.message(image))", hint: "")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        guard png_image_write_to_memory(&image, &bytes, &size, 0, &pixels, Int32(width), nil) != 0 else {
            throw FilterError.unsupported(source: "libpng", what: "could not encode the picture: \(Canvas.message(image))", hint: "")
        }
        png_image_free(&image)
        return Array(bytes.prefix(size))
    }

    private static func message(_ image: png_image) -> String {
        var m = image.message
        return withUnsafeBytes(of: &m) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
