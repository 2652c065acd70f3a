import FilterKit

/// `crop`: keep a box of the volume.
public enum CropFactory: StageFactory {
    public static let name = "crop"
    public static let summary = "keep a sub-box: x, y, z ranges start..end (end excluded)"
    public static let discussion = """
        Ranges count voxels from 0 and exclude the end, like Swift's 10..<200; 'all' keeps an
        axis whole. The origin moves so that kept voxels stay where they were in space. The
        stored type is kept (no conversion).
        Example: stdio-filter crop --z 100..300 tomo.mrc slab.mrc
        """
    public static let parameters = [
        StageParameter("x", .range, default: "all", unit: "voxels", help: "columns to keep"),
        StageParameter("y", .range, default: "all", unit: "voxels", help: "rows to keep"),
        StageParameter("z", .range, default: "all", unit: "voxels", help: "sections to keep"),
    ]

    public static func make(_ p: StageParameters) throws -> any Stage {
        CropStage(x: try p.range("x"), y: try p.range("y"), z: try p.range("z"))
    }
}

/// Keeps `x × y × z` of the input (nil ranges keep the whole axis).
public final class CropStage: StreamingStage {
    public let name = "crop"
    /// Any X-Y part of the output comes from its input box alone: runs on bricks.
    public var supportsBricks: Bool { true }
    let requested: [Range<Int>?]
    private var start = SIMD3<Int>.zero

    public init(x: Range<Int>?, y: Range<Int>?, z: Range<Int>?) {
        requested = [x, y, z]
    }

    public func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        let n = [input.size.x, input.size.y, input.size.z]
        var counts = n
        for axis in 0..<3 {
            guard let r = requested[axis] else { continue }
            guard r.upperBound <= n[axis] else {
                throw FilterError.invalidParameter(
                    name: "crop \(["x", "y", "z"][axis])", value: "\(r.lowerBound)..\(r.upperBound)",
                    expected: "a range within the volume's \(n[axis]) voxels (0..\(n[axis]))")
            }
            start[axis] = r.lowerBound
            counts[axis] = r.count
        }
        var info = counts == n ? input : input.droppingGridMetadata()
        info.size = Size3(x: counts[0], y: counts[1], z: counts[2])
        let offset = SIMD3<Float>(Float(start.x), Float(start.y), Float(start.z))
        info.origin = input.origin + input.voxelSize * offset
        info.gridStart = input.gridStart &+ SIMD3<Int32>(Int32(start.x), Int32(start.y), Int32(start.z))
        if case .volumeStack = input.kind, counts[2] != n[2] { info.kind = .volume }
        return info
    }

    public func inputBox(forOutput output: Box) -> Box {
        Box(origin: output.origin &+ start, size: output.size)
    }

    public func process(_ input: InputRegion, into output: OutputRegion) throws {
        let count = output.box.size.x * output.box.size.y
        for t in 0..<output.box.size.z {
            (output.data + t * count).update(from: input.plane(t), count: count)
        }
    }
}
