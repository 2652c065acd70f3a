import FilterKit

/// A one-page picture of a denoiser's run (`s2s --report`), so that a user sees whether training
/// converged without reading logs: the loss per step with its running mean, the noise
/// correlation measured along X, Y and Z, and the central sections before and after.
public struct TrainingReport {
    /// Lines of text at the top (what ran, on what, for how long).
    public var lines: [String]
    /// The training loss of every step (empty: no training, a model was given).
    public var losses: [Float]
    /// The noise correlation along X, Y and Z at lags 0… (empty: not measured).
    public var correlation: [[Double]]
    /// The input's and the output's central sections, when both were recorded.
    public var before: Preview.Sections?, after: Preview.Sections?

    public init(lines: [String], losses: [Float], correlation: [[Double]], before: Preview.Sections?, after: Preview.Sections?) {
        self.lines = lines
        self.losses = losses
        self.correlation = correlation
        self.before = before
        self.after = after
    }

    static let margin = 8, plotWidth = 360, plotHeight = 180, lineHeight = 11

    /// Height of the text block, the plots' row and the plots' top edge.
    private var textHeight: Int { TrainingReport.margin + lines.count * TrainingReport.lineHeight }
    var plotsTop: Int { textHeight + TrainingReport.margin }

    private var sections: Preview? {
        guard let before, let after else { return nil }
        var preview = Preview(rows: [before, after], labels: ["before (input)", "after (output)"])
        // About 300 pixels or more across for small volumes.
        preview.scale = max(1, min(4, 300 / max(1, before.size.x + before.size.z)))
        return preview
    }

    /// The picture: text, then the loss curve and the correlation bars side by side, then the sections.
    public func canvas() -> Canvas {
        let m = TrainingReport.margin, pw = TrainingReport.plotWidth, ph = TrainingReport.plotHeight
        let preview = sections?.canvas()
        let width = max(2 * pw + 3 * m, (preview?.width ?? 0) + 2 * m)
        let height = plotsTop + ph + 2 * m + (preview.map { $0.height + m } ?? 0)
        var canvas = Canvas(width: width, height: height, background: 255)
        for (i, line) in lines.enumerated() {
            canvas.text(line, x: m, y: m + i * TrainingReport.lineHeight, size: 1, 0)
        }
        drawLoss(on: &canvas, x: m, y: plotsTop)
        drawCorrelation(on: &canvas, x: 2 * m + pw, y: plotsTop)
        if let preview { canvas.draw(preview, x: m, y: plotsTop + ph + 2 * m) }
        return canvas
    }

    public func png() throws -> [UInt8] { try canvas().png() }

    /// The plot area inside a panel's frame: left, top, width, height.
    private static func area(x: Int, y: Int) -> (Int, Int, Int, Int) { (x + 34, y + 14, plotWidth - 42, plotHeight - 30) }

    private func drawLoss(on canvas: inout Canvas, x: Int, y: Int) {
        canvas.text("training loss per step", x: x, y: y, size: 1, 0)
        let (left, top, w, h) = TrainingReport.area(x: x, y: y)
        canvas.frame(x: left, y: top, w: w, h: h, 0)
        guard losses.count >= 2 else {
            canvas.text(losses.isEmpty ? "no training (a model was given)" : "one step", x: left + 6, y: top + h / 2, size: 1, 0)
            return
        }
        // The range of the losses, cut at the 1st and 99th percentile so a first spike does not flatten the rest.
        let sorted = losses.filter(\.isFinite).sorted()
        let low = sorted[sorted.count / 100], high = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        let span = high > low ? high - low : 1
        let px = { (i: Int) in left + i * (w - 1) / (losses.count - 1) }
        let py = { (v: Float) in top + h - 1 - Int((min(max(v, low), high) - low) / span * Float(h - 1)) }
        for (i, v) in losses.enumerated() where v.isFinite { canvas.fill(x: px(i), y: py(v), w: 2, h: 2, 160) }
        // Running mean over 25 steps (as the log shows it).
        let window = min(25, losses.count)
        var sum: Float = 0
        var previous: (Int, Int)?
        for (i, v) in losses.enumerated() {
            sum += v
            if i >= window { sum -= losses[i - window] }
            guard i >= window - 1 else { continue }
            let point = (px(i), py(sum / Float(window)))
            if let previous { canvas.line(previous.0, previous.1, point.0, point.1, 0) }
            previous = point
        }
        canvas.text(String(format3: high), x: x, y: top, size: 1, 0)
        canvas.text(String(format3: low), x: x, y: top + h - 7, size: 1, 0)
        canvas.text("1", x: left, y: top + h + 3, size: 1, 0)
        let last = "\(losses.count)"
        canvas.text(last, x: left + w - BitmapFont.width(of: last), y: top + h + 3, size: 1, 0)
    }

    private func drawCorrelation(on canvas: inout Canvas, x: Int, y: Int) {
        canvas.text("noise correlation at lags 1-8 (X, Y, Z)", x: x, y: y, size: 1, 0)
        let (left, top, w, h) = TrainingReport.area(x: x, y: y)
        canvas.frame(x: left, y: top, w: w, h: h, 0)
        guard correlation.count == 3 else {
            canvas.text("not measured", x: left + 6, y: top + h / 2, size: 1, 0)
            return
        }
        let zero = top + h / 2
        canvas.line(left, zero, left + w - 1, zero, 120)
        canvas.text("+1", x: x + 12, y: top, size: 1, 0)
        canvas.text("0", x: x + 18, y: zero - 3, size: 1, 0)
        canvas.text("-1", x: x + 12, y: top + h - 7, size: 1, 0)
        let group = w / 3
        for (a, name) in ["X", "Y", "Z"].enumerated() {
            let lags = correlation[a].dropFirst().prefix(8)
            let bar = max(2, (group - 12) / max(1, lags.count) - 2)
            for (k, value) in lags.enumerated() {
                let length = Int((min(1, abs(value)) * Double(h / 2 - 1)).rounded())
                let bx = left + a * group + 6 + k * (bar + 2)
                canvas.fill(x: bx, y: value >= 0 ? zero - length : zero + 1, w: bar, h: length, value >= 0 ? 0 : 110)
            }
            canvas.text(name, x: left + a * group + group / 2 - 2, y: top + h + 3, size: 1, 0)
        }
    }
}
