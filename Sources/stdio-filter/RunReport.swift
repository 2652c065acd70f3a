import Evaluation
import FilterKit
import S2SFilter

/// `s2s --report PATH` (and n2n's): the central sections of the run's input and output are
/// recorded as they stream past (no second read, so pipes work too), and after the run the
/// picture is drawn from them, the training's losses and the measured noise correlation.
struct RunReport {
    let stage: S2SStage
    let path: String

    /// The report the chain asks for, if any (the first stage with `--report`).
    init?(stages: [any Stage]) {
        guard let (stage, path) = stages.lazy.compactMap({ s in (s as? S2SStage).flatMap { t in t.settings.reportPath.map { (t, $0) } } }).first else {
            return nil
        }
        self.stage = stage
        self.path = path
    }

    /// Draws and writes the report (never over an input).
    func write(input: String, output: String, before: SectionRecorder, after: SectionRecorder, protecting inputs: [InputSource], console: Console) throws {
        let s = stage.settings
        var lines = ["\(stage.name): \(input) → \(output)"]
        if stage.lossHistory.isEmpty {
            lines.append("model \(s.modelPath ?? "given"): no training in this run")
        } else {
            lines.append("trained \(stage.lossHistory.count) steps, batch \(s.batch) of \(s.patch)³, final loss \(String(format3: stage.finalLoss ?? .nan))")
        }
        if let mask = stage.mask { lines.append("masks: \(mask)") }
        if let c = stage.noiseCorrelation { lines.append("noise correlation at lags 1…3: \(c.summary())") }
        let report = TrainingReport(
            lines: lines, losses: stage.lossHistory, correlation: stage.noiseCorrelation?.axes ?? [],
            before: before.sections, after: after.sections)
        try writeWholeFile(report.png(), to: path, protecting: inputs)
        console.note("report: \(path)")
    }
}

/// A reader that records the central sections of what is read through it.
final class RecordingReader: VolumeReader {
    let base: VolumeReader
    private(set) var recorder: SectionRecorder

    init(_ base: VolumeReader) {
        self.base = base
        recorder = SectionRecorder(info: base.info)
    }

    var info: VolumeInfo { base.info }
    var sourceName: String { base.sourceName }
    var warnings: [String] { base.warnings }
    var supportsRandomAccess: Bool { base.supportsRandomAccess }

    func readRows(from firstRow: Int, count: Int, into destination: UnsafeMutablePointer<Float>) throws {
        try base.readRows(from: firstRow, count: count, into: destination)
        recorder.record(rows: count, from: firstRow, values: destination)
    }
}

/// A writer that records the central sections of what is written through it.
final class RecordingWriter: VolumeWriter {
    let base: any VolumeWriter
    private(set) var recorder: SectionRecorder
    private var rowsWritten = 0

    init(_ base: any VolumeWriter, info: VolumeInfo) {
        self.base = base
        recorder = SectionRecorder(info: info)
    }

    var warnings: [String] { base.warnings }
    var clampedCount: Int { base.clampedCount }

    func writeRows(_ count: Int, from values: UnsafeMutablePointer<Float>) throws {
        recorder.record(rows: count, from: rowsWritten, values: values)
        rowsWritten += count
        try base.writeRows(count, from: values)
    }

    func finish() throws { try base.finish() }
    func abort() { base.abort() }
}
