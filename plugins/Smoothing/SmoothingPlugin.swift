import FilterKit

/// Neighbourhood smoothing stages: `gaussian` and `median`.
public enum SmoothingPlugin {
    public static let factories: [any StageFactory.Type] = [GaussianFactory.self, MedianFactory.self]
}

/// The `boundary` parameter every neighbourhood stage takes.
let boundaryParameter = StageParameter(
    "boundary", .choice(BoundaryMode.allCases.map(\.rawValue)), default: "nearest",
    help: "how the halo is filled past the volume's faces (nearest repeats the edge voxel)")
