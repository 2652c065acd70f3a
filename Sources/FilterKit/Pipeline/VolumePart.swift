/// A range of output sections computed on its own — one task's share of a volume split across a
/// cluster — and how a part file records where it belongs.
///
/// A part file is an ordinary volume of `sections.count` sections, placed in space as `crop`
/// would place it (origin moved by `z0` voxels, NZSTART increased by `z0`), with a label naming
/// its range and the full volume's size, which `concat` reads back to check that parts tile the
/// volume exactly.
public struct VolumePart: Sendable, Equatable, CustomStringConvertible {
    /// The output sections `z0 ..< z1` of the full result.
    public var sections: Range<Int>
    /// The full result's size.
    public var full: Size3

    public init(sections: Range<Int>, full: Size3) {
        self.sections = sections
        self.full = full
    }

    static let labelPrefix = "stdio-filter part z="

    /// The label part files carry: `stdio-filter part z=16:32 of 128x128x64`.
    public var label: String { "\(VolumePart.labelPrefix)\(sections.lowerBound):\(sections.upperBound) of \(full.x)x\(full.y)x\(full.z)" }

    public var description: String { "sections \(sections.lowerBound)..<\(sections.upperBound) of \(full)" }

    /// The part a label describes, or nil when `label` is not a part label (or is inconsistent).
    public init?(label: String) {
        guard label.hasPrefix(VolumePart.labelPrefix) else { return nil }
        let body = label.dropFirst(VolumePart.labelPrefix.count)
        let words = body.split(separator: " ")
        guard words.count == 3, words[1] == "of" else { return nil }
        let bounds = words[0].split(separator: ":").compactMap { Int($0) }
        let dims = words[2].split(separator: "x").compactMap { Int($0) }
        guard bounds.count == 2, dims.count == 3, dims.allSatisfy({ $0 > 0 }),
            bounds[0] >= 0, bounds[0] < bounds[1], bounds[1] <= dims[2]
        else { return nil }
        self.init(sections: bounds[0]..<bounds[1], full: Size3(x: dims[0], y: dims[1], z: dims[2]))
    }

    /// The part recorded in `info`'s labels, if any.
    public static func recorded(in info: VolumeInfo) -> VolumePart? {
        info.labels.lazy.compactMap(VolumePart.init(label:)).first
    }

    /// The geometry of this part's file, from the full result's `info`.
    public func info(fromFull info: VolumeInfo) -> VolumeInfo {
        var part = info
        let z0 = sections.lowerBound
        part.size = Size3(x: info.size.x, y: info.size.y, z: sections.count)
        part.origin.z += info.voxelSize.z * Float(z0)
        part.gridStart.z &+= Int32(clamping: z0)
        part.labels = info.labels.filter { VolumePart(label: $0) == nil } + [label]
        return part
    }

    /// The full result's geometry from the first part's file (`sections` starting at 0).
    public func fullInfo(fromFirstPart info: VolumeInfo) -> VolumeInfo {
        var whole = info
        whole.size = full
        whole.labels = info.labels.filter { VolumePart(label: $0) == nil }
        if whole.kind == .image && full.z > 1 { whole.kind = .volume }  // a one-section first part reads as an image
        return whole
    }

    /// `count` sections split into `parts` ranges of near-equal size (the first ones one section
    /// larger), as a job array would share them; fewer when there are fewer sections than parts.
    public static func ranges(sections count: Int, parts: Int) -> [Range<Int>] {
        let n = max(1, min(parts, count))
        let base = count / n, extra = count % n
        var start = 0
        return (0..<n).map { i in
            let size = base + (i < extra ? 1 : 0)
            defer { start += size }
            return start..<(start + size)
        }
    }
}
