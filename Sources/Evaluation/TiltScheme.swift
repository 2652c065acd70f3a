import FilterKit
#if canImport(Glibc)
import Glibc
#endif

/// How a single-axis tilt series is acquired: its angles, the order they are taken in and the
/// dose of each, as a back-projected phantom (`synth --tilt-series`) images its specimen.
public struct TiltScheme: Sendable, Equatable {
    /// The order tilts are exposed in (what decides how much dose each has seen before).
    public enum Order: String, Sendable, CaseIterable {
        /// Hagen's scheme: 0° first, then two tilts on one side, two on the other, outwards.
        case doseSymmetric = "dose-symmetric"
        /// From the first angle to the last.
        case sequential
    }

    /// Angles in degrees, first to last (the stack order).
    public var first: Double = -60, last: Double = 60, step: Double = 3
    public var order: Order = .doseSymmetric
    /// Electrons per Å² in each exposure (the real series of `../shared/data/real`: 120 e/Å² over 41 tilts).
    public var dosePerTilt: Double = 2.93
    /// Where the tilt axis sits along X, in voxels from the volume's centre (a field of view off
    /// the rotation centre).
    public var axisOffset: Double = 0

    public init() {}

    /// The angles in degrees, in stack order.
    public var angles: [Double] {
        let count = Int(((last - first) / step).rounded()) + 1
        return (0..<count).map { first + Double($0) * step }
    }

    /// The position in the acquisition of each tilt, by stack index (0: exposed first).
    public var acquisitionIndex: [Int] {
        let angles = self.angles
        switch order {
        case .sequential:
            return Array(angles.indices)
        case .doseSymmetric:
            // Start nearest 0°, then alternate sides two tilts at a time (Hagen et al. 2017).
            let start = angles.indices.min { abs(angles[$0]) < abs(angles[$1]) }!
            var sequence = [start]
            var (up, down) = (start + 1, start - 1)
            var side = 1
            while sequence.count < angles.count {
                for _ in 0..<2 {
                    if side > 0, up < angles.count { sequence.append(up); up += 1 }
                    else if side < 0, down >= 0 { sequence.append(down); down -= 1 }
                }
                if up >= angles.count { side = -1 } else if down < 0 { side = 1 } else { side = -side }
            }
            var index = [Int](repeating: 0, count: angles.count)
            for (position, tilt) in sequence.enumerated() { index[tilt] = position }
            return index
        }
    }

    /// The dose (e/Å²) each tilt has received before its own exposure, by stack index.
    public var priorDose: [Double] { acquisitionIndex.map { Double($0) * dosePerTilt } }

    /// Checks the values before anything is made.
    public func validate() throws {
        try requireSetting(first.isFinite && last.isFinite && abs(first) < 90 && abs(last) < 90 && first <= last,
                  "synth --tilt-series", "\(first):\(last)", "FIRST:LAST:STEP with −90 < FIRST ≤ LAST < 90 degrees")
        try requireSetting(step.isFinite && step > 0, "synth --tilt-series", step, "a positive STEP in degrees")
        try requireSetting(angles.count >= 2 && angles.count <= 1000, "synth --tilt-series", angles.count, "2 to 1000 tilts")
        try requireSetting(dosePerTilt.isFinite && dosePerTilt > 0 && dosePerTilt <= 1000, "synth --dose", dosePerTilt, "0 to 1000 e/Å² per tilt")
        try requireSetting(axisOffset.isFinite && abs(axisOffset) <= 1e5, "synth --axis-offset", axisOffset, "a number of voxels")
    }

    /// Reads `FIRST:LAST:STEP` (degrees).
    public static func range(_ text: String) -> (first: Double, last: Double, step: Double)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
        guard parts.count == 3, let a = parts[0], let b = parts[1], let s = parts[2] else { return nil }
        return (a, b, s)
    }
}
