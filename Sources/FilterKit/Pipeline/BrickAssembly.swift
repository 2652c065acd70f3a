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
        let nx = Int64(size.x)
        let sectionOffset = Int64(z) * Int64(size.sectionVoxels) * 4
        func offset(ofRow y: Int) -> Int64 { sectionOffset + (Int64(y) * nx + Int64(rect.x.lowerBound)) * 4 }
        if rect.width == size.x {
            // Rows as wide as the section are one run in the file: one write.
            try file.write(UnsafeRawBufferPointer(start: values, count: rect.voxels * 4), at: offset(ofRow: rect.y.lowerBound))
            return
        }
        for r in 0..<rect.height {
            try file.write(UnsafeRawBufferPointer(start: values + r * rect.width, count: rect.width * 4), at: offset(ofRow: rect.y.lowerBound + r))
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
