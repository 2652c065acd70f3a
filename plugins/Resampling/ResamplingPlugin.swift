import FilterKit

/// Stages that change the grid: `bin` and `crop`.
public enum ResamplingPlugin {
    public static let factories: [any StageFactory.Type] = [BinFactory.self, CropFactory.self]
}

extension VolumeInfo {
    /// The info with format metadata that describes the old grid (extended header) removed.
    func droppingGridMetadata() -> VolumeInfo {
        var info = self
        if var mrc = info.mrc {
            mrc.extendedHeader = []
            mrc.extendedHeaderType = ""
            info.mrc = mrc
        }
        return info
    }
}
