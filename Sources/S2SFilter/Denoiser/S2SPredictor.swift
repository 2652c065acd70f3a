import FilterKit

/// Prediction with a trained network, row of tiles by row of tiles: every tile of the volume's
/// grid (`tileXY`×`tileXY`×`tile` cubes) is seen with `halo` voxels of context and predicted by
/// the distilled student in one pass, by the mask ensemble, or with two halves as the mean of
/// both halves' predictions; the draws are keyed to the tile's coordinates, so the output does
/// not depend on slab size, bricks, thread count or a pipe. Made by ``S2SStage`` once training
/// is done; holds the buffers of one row.
final class S2SPredictor {
    private let settings: S2SSettings
    private let network: UNet
    private let student: UNet?
    /// The ensemble of a network trained with masks (nil with a student or two halves).
    private let ensemble: MaskEnsemble?
    private let moments: (mean: Float, standardDeviation: Float)
    private let tileXY: Int
    private let volume: Size3
    /// The last predicted row of tiles: its index and the rectangle it covers (``rowValues``:
    /// `tile` sections of that rectangle of the output).
    private var cachedRow: (index: Int, rect: PlaneRect)?
    /// Buffers allocated at the first row and reused for every row (so a long run does not
    /// fragment the heap): the row of tiles, one block's input and mask, and the sum of a
    /// block's passes (two halves and the ensemble; a student's one pass needs none).
    private var rowValues: [Float] = []
    private var blockBuffers: (block: Tensor, mask: Tensor)?
    private var sumBuffer: Tensor?
    /// Progress: tiles done, when prediction started, when progress was last shown.
    private var progress = (tilesDone: 0, start: 0.0, lastReport: 0.0)
    /// Seconds between progress lines.
    static let progressInterval = 30.0

    init(settings: S2SSettings, network: UNet, student: UNet?, ensemble: MaskEnsemble?, moments: (mean: Double, standardDeviation: Double), tileXY: Int, volume: Size3) {
        precondition(settings.halves || student != nil || ensemble != nil, "a student, an ensemble or two halves to predict with")
        self.settings = settings
        self.network = network
        self.student = student
        self.ensemble = ensemble
        self.moments = (Float(moments.mean), Float(moments.standardDeviation))
        self.tileXY = tileXY
        self.volume = volume
    }

    /// Computes `output.box` from the padded input (and the second half's) by predicting the
    /// rows of tiles it meets.
    func process(_ input: InputRegion, second: InputRegion?, into output: OutputRegion) {
        precondition((second != nil) == settings.halves, "the pipeline gives a second input exactly when the stage takes one")
        let t = settings.tile
        let rect = PlaneRect(x: output.box.range(0), y: output.box.range(1))
        let voxels = rect.voxels
        for z in output.box.range(2) {
            let row = z / t
            if cachedRow?.index != row || cachedRow?.rect != rect {
                predictRow(row, rect: rect, input: input, second: second)
                cachedRow = (row, rect)
            }
            let plane = (z - row * t) * voxels
            rowValues.withUnsafeBufferPointer { values in
                (output.data + (z - output.box.origin.z) * voxels).update(from: values.baseAddress! + plane, count: voxels)
            }
        }
    }

    /// Predicts sections `row·tile ..< (row + 1)·tile` over `rect` (the whole section, or a
    /// brick's rectangle) from the input tile's planes (and the second half's, with two
    /// halves): every tile of the volume's grid that meets `rect`, each seen with its halo.
    private func predictRow(_ row: Int, rect: PlaneRect, input: InputRegion, second: InputRegion?) {
        let s = settings, t = s.tile, w = tileXY, h = s.halo, b = s.predictionBlock, bxy = w + 2 * h
        let width = input.box.size.x
        let (x0, y0) = (input.box.origin.x, input.box.origin.y)
        if rowValues.count != t * rect.voxels { rowValues = [Float](repeating: 0, count: t * rect.voxels) }
        let shape = TensorShape(depth: b, height: bxy, width: bxy, channels: 1)
        if blockBuffers?.block.shape != shape {
            blockBuffers = (Tensor(shape), Tensor(shape))
            if settings.halves || student != nil { blockBuffers!.mask.data.update(repeating: 1, count: blockBuffers!.mask.count) }
        }
        if student == nil, sumBuffer?.shape != shape { sumBuffer = Tensor(shape) }
        let (block, visible) = blockBuffers!
        let (mean, std) = moments
        let firstPlane = row * t - h - input.box.origin.z
        /// Tile (ty, tx) of this row with its halo, standardised, from `tile`'s planes.
        func load(_ tile: InputRegion, ty: Int, tx: Int) {
            for z in 0..<b {
                let plane = tile.plane(firstPlane + z)
                for y in 0..<bxy {
                    let from = plane + (ty * w - h - y0 + y) * width + (tx * w - h - x0)
                    let to = block.data + (z * bxy + y) * bxy
                    for x in 0..<bxy { to[x] = (from[x] - mean) / std }
                }
            }
        }
        for ty in (rect.y.lowerBound / w)..<((rect.y.upperBound + w - 1) / w) {
            for tx in (rect.x.lowerBound / w)..<((rect.x.upperBound + w - 1) / w) {
                load(input, ty: ty, tx: tx)
                let key = RandomStream(seed: s.seed, stream: 0x5A3B).child(UInt64(row) << 40 | UInt64(ty) << 20 | UInt64(tx))
                if let second {
                    // Two halves: the mean of both halves' predictions, expected activations.
                    let sum = sumBuffer!
                    sum.zero()
                    for half in 0..<2 {
                        if half == 1 { load(second, ty: ty, tx: tx) }
                        let out = network.predict(block, mask: visible, stream: key, dropout: false)
                        let (o, a) = (UnsafePointer(out.data), sum.data)
                        for i in 0..<sum.count { a[i] += 0.5 * o[i] }
                    }
                    storeTile(sum, row: row, ty: ty, tx: tx, rect: rect)
                } else if let student {
                    storeTile(student.predict(block, mask: visible, stream: key, dropout: false), row: row, ty: ty, tx: tx, rect: rect)
                } else {
                    ensemble!.predict(block, origin: SIMD3(tx * w - h, ty * w - h, row * t - h), key: key, into: sumBuffer!)
                    storeTile(sumBuffer!, row: row, ty: ty, tx: tx, rect: rect)
                }
            }
        }
    }

    /// Writes the part of a standardised block prediction's core that lies in `rect` into the
    /// row of tiles.
    private func storeTile(_ prediction: Tensor, row: Int, ty: Int, tx: Int, rect: PlaneRect) {
        let s = settings, t = s.tile, w = tileXY, h = s.halo, bxy = w + 2 * h
        let (mean, std) = moments
        let ys = max(ty * w, rect.y.lowerBound)..<min((ty + 1) * w, rect.y.upperBound)
        let xs = max(tx * w, rect.x.lowerBound)..<min((tx + 1) * w, rect.x.upperBound)
        for z in 0..<t {
            for y in ys {
                let from = prediction.data + ((z + h) * bxy + y - ty * w + h) * bxy + h
                let to = (z * rect.height + y - rect.y.lowerBound) * rect.width
                for x in xs { rowValues[to + x - rect.x.lowerBound] = from[x - tx * w] * std + mean }
            }
        }
        reportProgress(row: row)
    }

    /// A line on stderr every ``progressInterval`` seconds: tiles done of all, and the time left
    /// at the rate so far (a row of tiles can take minutes on large sections, longer than the
    /// pipeline's per-section progress can show).
    private func reportProgress(row: Int) {
        let now = ProgressReporter.now()
        if progress.tilesDone == 0 { (progress.start, progress.lastReport) = (now, now) }
        progress.tilesDone += 1
        let (t, w) = (settings.tile, tileXY)
        let perRow = ((volume.x + w - 1) / w) * ((volume.y + w - 1) / w), rows = (volume.z + t - 1) / t
        let total = perRow * rows, done = progress.tilesDone
        guard now - progress.lastReport >= S2SPredictor.progressInterval, done < total else { return }
        progress.lastReport = now
        let left = (now - progress.start) / Double(done) * Double(total - done)
        Log.info("predicting: \(done)/\(total) tiles (row \(row + 1)/\(rows)), \(formatMinutes(left / 60)) left")
    }
}
