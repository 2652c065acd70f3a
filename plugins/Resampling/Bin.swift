import FilterKit

/// `bin`: average f×f×f blocks, shrinking the volume and growing the voxel size by f.
public enum BinFactory: StageFactory {
    public static let name = "bin"
    public static let summary = "average blocks of f voxels per axis (2×, 4×…): smaller volume, larger voxels"
    public static let discussion = """
        Each output voxel is the mean of an fx×fy×fz block; a remainder at the end of an axis is
        dropped (floor(n / f) voxels remain). The voxel size grows by f and the origin moves to the
        centre of the first block. Image stacks (tilt series) are binned in X and Y only unless
        Z is given explicitly (factor=2x2x2).
        Example: stdio-filter bin --factor 4 tomo.mrc tomo-bin4.mrc
        """
    public static let parameters = [
        StageParameter("factor", .perAxis(1...64), default: "2", unit: "voxels", help: "block size: one whole number, or X×Y×Z such as 2x2x1"),
    ]

    public static func make(_ p: StageParameters) throws -> any Stage {
        let f = try p.perAxis("factor")
        guard f == f.rounded(.down) else {
            throw FilterError.invalidParameter(name: "bin factor", value: p.text("factor"), expected: "whole numbers, such as 2 or 2x2x1")
        }
        return BinStage(factor: SIMD3(Int(f.x), Int(f.y), Int(f.z)), zGiven: p.text("factor").contains("x"))
    }
}

/// Block averaging by integer factors.
public final class BinStage: StreamingStage {
    public let name = "bin"
    /// Any X-Y part of the output comes from its input box alone: runs on bricks.
    public var supportsBricks: Bool { true }
    public private(set) var factor: SIMD3<Int>
    /// Whether the Z factor was given explicitly (otherwise image stacks keep their Z).
    let zGiven: Bool

    public init(factor: SIMD3<Int>, zGiven: Bool = true) {
        self.factor = factor
        self.zGiven = zGiven
    }

    public func outputInfo(for input: VolumeInfo) throws -> VolumeInfo {
        if !zGiven, input.kind == .imageStack || input.kind == .image { factor.z = 1 }
        var info = input.droppingGridMetadata()
        let n = input.size
        for (axis, count) in [n.x, n.y, n.z].enumerated() where count < factor[axis] {
            throw FilterError.invalidParameter(
                name: "bin factor", value: "\(factor[axis]) along \(["X", "Y", "Z"][axis])",
                expected: "at most the volume's \(count) voxels on that axis")
        }
        info.size = Size3(x: n.x / factor.x, y: n.y / factor.y, z: n.z / factor.z)
        if case let .volumeStack(per) = input.kind, factor.z > 1 {
            guard per % factor.z == 0 else {
                throw FilterError.invalidParameter(name: "bin factor", value: "\(factor.z) along Z", expected: "a divisor of the \(per) sections per volume of this volume stack")
            }
            info.kind = .volumeStack(sectionsPerVolume: per / factor.z)
        }
        let f = SIMD3<Float>(Float(factor.x), Float(factor.y), Float(factor.z))
        info.origin = input.origin + input.voxelSize * (f - 1) / 2
        info.voxelSize = input.voxelSize * f
        info.gridStart = input.gridStart / SIMD3<Int32>(Int32(factor.x), Int32(factor.y), Int32(factor.z))
        info.elementType = .float32
        return info
    }

    public func inputBox(forOutput output: Box) -> Box {
        Box(origin: output.origin &* factor, size: Size3(x: output.size.x * factor.x, y: output.size.y * factor.y, z: output.size.z * factor.z))
    }

    public func process(_ input: InputRegion, into output: OutputRegion) throws {
        let width = input.box.size.x
        let nx = output.box.size.x, ny = output.box.size.y, nt = output.box.size.z
        let (fx, fy, fz) = (factor.x, factor.y, factor.z)
        let scale = 1 / Float(fx * fy * fz)
        Parallel.forEachChunk(nt * ny, minimumChunk: 16) { rows in
            for r in rows {
                let t = r / ny, y = r % ny
                let out = output.data + r * nx
                out.initialize(repeating: 0, count: nx)
                for dz in 0..<fz {
                    let plane = input.plane(t * fz + dz)
                    for dy in 0..<fy {
                        let row = plane + (y * fy + dy) * width
                        for x in 0..<nx {
                            var sum: Float = 0
                            for dx in 0..<fx { sum += row[x * fx + dx] }
                            out[x] += sum
                        }
                    }
                }
                for x in 0..<nx { out[x] *= scale }
            }
        }
    }
}
