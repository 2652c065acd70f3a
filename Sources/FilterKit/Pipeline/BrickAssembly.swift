/// Puts bricks in order for a writer that takes rows in order only (a pipe, a TIFF): each
/// brick section is written at its place in a scratch file in `$TMPDIR` (float32, the output's
/// layout), which is then handed to the writer row by row.
final class BrickAssembly {
    private let file: ScratchFile
    private let size: Size3
    private let sections: Int

    /// - Parameter sections: the sections written (all of the output's, or a part's).
    init(info: VolumeInfo, sections: Int, directory: String?) throws {
        size = info.size
        self.sections = sections
        file = try ScratchFile(
            purpose: "brick assembly of the output", directory: directory, bytes: Int64(sections) * Int64(size.sectionVoxels) * 4)
    }

    /// Writes the rectangle `rect` of section `z` (counted from the first written section).
    func write(_ rect: PlaneRect, section z: Int, from values: UnsafePointer<Float>) throws {
        let sectionOffset = Int64(z) * Int64(size.sectionVoxels) * 4
        try rect.forEachRun(inPlaneOfWidth: size.x) { planeOffset, rectOffset, count in
            try file.write(UnsafeRawBufferPointer(start: values + rectOffset, count: count * 4), at: sectionOffset + Int64(planeOffset) * 4)
        }
    }

    /// Hands every row to `writer` in order, about ``Pipeline/assemblyChunkBytes`` at a time.
    func writeInOrder(to writer: any VolumeWriter) throws {
        let nx = size.x
        let rowsPerChunk = max(1, Pipeline.assemblyChunkBytes / (nx * 4))
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerChunk * nx)
        defer { rows.deallocate() }
        var row = 0
        let total = sections * size.y
        while row < total {
            let count = min(rowsPerChunk, total - row)
            try file.read(into: UnsafeMutableRawBufferPointer(start: rows, count: count * nx * 4), at: Int64(row) * Int64(nx) * 4)
            try writer.writeRows(count, from: rows)
            row += count
        }
    }
}
