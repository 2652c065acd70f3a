import FilterKit
import Foundation
import Testing

@Suite("split-tilts: a back-projection undone into the sub-tomograms of alternate tilts")
struct BackProjectionSplitTests {
    /// SplitMix64 normals (Box–Muller), so every run sees the same volumes.
    struct Normals {
        var state: UInt64
        mutating func next() -> Double {
            func uniform(_ s: inout UInt64) -> Double {
                s &+= 0x9E37_79B9_7F4A_7C15
                var z = s
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return (Double((z ^ (z >> 31)) >> 11) + 0.5) / 9_007_199_254_740_992
            }
            let (u, v) = (uniform(&state), uniform(&state))
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
    }

    /// A crop of a weighted back-projection as `tools/reconstruct.py` makes it: per plane along
    /// the tilt axis, every tilt's random profile linearly interpolated at
    /// u = X cos θ + Z sin θ + centre, X and Z measured from the centre of a larger reconstruction
    /// the crop was cut from at (`cropX`, `cropZ`). Returns the volume and the sums of the even-
    /// and odd-numbered tilts (in angle order).
    ///
    /// With `wholeField`, the volume is the whole reconstruction instead (no crop), and, as in
    /// `tools/reconstruct.py`, a projection adds nothing where its ray misses it (u outside the
    /// projection's width).
    static func backProjection(
        size: Size3, degrees: [Double], axis: BackProjectionSplit.Axis, cropX: Int = 13, cropZ: Int = 7, seed: UInt64 = 1, wholeField: Bool = false
    ) -> (volume: [Float], even: [Float], odd: [Float]) {
        let full = wholeField ? (x: axis == .y ? size.x : size.y, z: size.z) : (x: 160, z: 80)
        let (cropX, cropZ) = wholeField ? (0, 0) : (cropX, cropZ)
        let (width, planes) = axis == .y ? (size.x, size.y) : (size.y, size.x)
        var normals = Normals(state: seed)
        var volume = [Float](repeating: 0, count: size.voxelCount), even = volume, odd = volume
        let cx = Double(full.x - 1) / 2, cz = Double(full.z - 1) / 2
        for (k, angle) in degrees.sorted().enumerated() {
            let t = angle * .pi / 180
            for p in 0..<planes {
                let profile = rampFiltered((0..<full.x).map { _ in normals.next() })
                for z in 0..<size.z {
                    for a in 0..<width {
                        let u = (Double(a + cropX) - cx) * cos(t) + (Double(z + cropZ) - cz) * sin(t) + cx
                        guard u >= 0, u <= Double(full.x - 1) else { continue }
                        let i = min(Int(u.rounded(.down)), full.x - 2)
                        let w = u - Double(i)
                        let value = Float(profile[i] * (1 - w) + profile[i + 1] * w)
                        let index = axis == .y ? (z * size.y + p) * size.x + a : (z * size.y + a) * size.x + p
                        volume[index] += value
                        if k % 2 == 0 { even[index] += value } else { odd[index] += value }
                    }
                }
            }
        }
        return (volume, even, odd)
    }

    /// A projection row as weighted back-projection filters it: the Ram-Lak kernel (1/4 at 0,
    /// −1/(π² n²) at odd n), edges repeated. Without it a profile's lowest frequencies, which
    /// several tilts can explain alike, would dominate.
    static func rampFiltered(_ row: [Double]) -> [Double] {
        row.indices.map { i in
            var sum = row[i] / 4
            for n in stride(from: 1, through: 31, by: 2) {
                let h = -1 / (Double.pi * Double.pi * Double(n * n))
                sum += h * (row[max(i - n, 0)] + row[min(i + n, row.count - 1)])
            }
            return sum
        }
    }

    /// ‖a − 2 b‖ / ‖2 b‖: a half as split (at the input's scale) against the true sum of its tilts.
    static func relativeError(_ half: [Float], _ truth: [Float]) -> Double {
        var error = 0.0, norm = 0.0
        for i in half.indices {
            let t = 2 * Double(truth[i])
            error += (Double(half[i]) - t) * (Double(half[i]) - t)
            norm += t * t
        }
        return (error / norm).squareRoot()
    }

    static func run(_ volume: [Float], size: Size3, angles: TiltAngles, axes: [BackProjectionSplit.Axis] = BackProjectionSplit.Axis.allCases)
        throws -> (fit: BackProjectionSplit.Fit, first: [Float], second: [Float], residual: Double)
    {
        let split = BackProjectionSplit(angles: angles)
        let fit = try volume.withUnsafeBufferPointer { try split.fitGeometry($0.baseAddress!, size: size, axes: axes) }
        var first = [Float](repeating: 0, count: volume.count), second = first
        let residual = volume.withUnsafeBufferPointer { v in
            first.withUnsafeMutableBufferPointer { a in
                second.withUnsafeMutableBufferPointer { b in
                    split.split(v.baseAddress!, size: size, fit: fit, first: a.baseAddress!, second: b.baseAddress!)
                }
            }
        }
        return (fit, first, second, residual)
    }

    /// Nine tilts, not symmetric about 0 (negated, they are other angles).
    static let degrees = stride(from: -57.0, through: 63, by: 15).map { $0 }

    @Test("an off-centre crop splits into its even and odd tilts' reconstructions", arguments: [BackProjectionSplit.Axis.y, .x])
    func splitsBothAxes(axis: BackProjectionSplit.Axis) throws {
        let size = axis == .y ? Size3(x: 128, y: 2, z: 64) : Size3(x: 2, y: 128, z: 64)
        let (volume, even, odd) = Self.backProjection(size: size, degrees: Self.degrees, axis: axis)
        let result = try Self.run(volume, size: size, angles: try TiltAngles(degrees: Self.degrees))
        #expect(result.fit.axis == axis)
        #expect(result.fit.sign == 1)
        #expect(!result.fit.edges, "a crop off the centre: its projections reach every voxel")
        #expect(result.residual < 0.01, "residual \(result.residual)")
        let errors = (Self.relativeError(result.first, even), Self.relativeError(result.second, odd))
        #expect(errors.0 < 0.08 && errors.1 < 0.08, "relative errors \(errors)")
    }

    @Test("a whole field of view, where projections end inside the volume, is fitted with those edges", arguments: [BackProjectionSplit.Axis.y, .x])
    func wholeFieldOfView(axis: BackProjectionSplit.Axis) throws {
        let size = axis == .y ? Size3(x: 96, y: 2, z: 48) : Size3(x: 2, y: 96, z: 48)
        let (volume, even, odd) = Self.backProjection(size: size, degrees: Self.degrees, axis: axis, wholeField: true)
        let result = try Self.run(volume, size: size, angles: try TiltAngles(degrees: Self.degrees))
        #expect(result.fit.edges, "\(result.fit)")
        #expect(result.residual < 0.01, "residual \(result.residual)")
        // Without the edges the same volume leaves several times more.
        var plain = result.fit
        plain.edges = false
        let split = BackProjectionSplit(angles: try TiltAngles(degrees: Self.degrees))
        var first = [Float](repeating: 0, count: volume.count), second = first
        let without = volume.withUnsafeBufferPointer { v in
            first.withUnsafeMutableBufferPointer { a in
                second.withUnsafeMutableBufferPointer { b in split.split(v.baseAddress!, size: size, fit: plain, first: a.baseAddress!, second: b.baseAddress!) }
            }
        }
        #expect(without > 3 * result.residual, "residual without edges \(without), with \(result.residual)")
        let errors = (Self.relativeError(result.first, even), Self.relativeError(result.second, odd))
        #expect(errors.0 < 0.08 && errors.1 < 0.08, "relative errors \(errors)")
    }

    @Test("angles of the other sign are found; the phase found is the crop's")
    func negatedAngles() throws {
        let size = Size3(x: 128, y: 2, z: 64)
        let (volume, even, odd) = Self.backProjection(size: size, degrees: Self.degrees, axis: .y, cropX: 21, cropZ: 11)
        // The volume was made with the angles as given; the user states them negated.
        let result = try Self.run(volume, size: size, angles: try TiltAngles(degrees: Self.degrees.map { -$0 }), axes: [.y])
        #expect(result.fit.sign == -1)
        #expect(result.residual < 0.01, "residual \(result.residual)")
        // Sorted negated angles run in the opposite order: the halves keep their tilts (9 tilts, even ↔ even).
        #expect(Self.relativeError(result.first, even) < 0.08 && Self.relativeError(result.second, odd) < 0.08)
        // The first user angle, -63, is the true 63: its phase is where the crop's grid puts u.
        let t = 63.0 * .pi / 180
        let u = (63.5 + 21 - 79.5) * cos(t) + (31.5 + 11 - 39.5) * sin(t) + 79.5
        let phase = u - u.rounded(.down)
        let found = result.fit.phases[0]
        #expect(min(abs(found - phase), 1 - abs(found - phase)) <= 0.02, "phase \(found), expected \(phase)")
    }

    @Test("a volume that is no back-projection of these tilts leaves a large residual")
    func whiteNoiseDoesNotFit() throws {
        let size = Size3(x: 128, y: 2, z: 64)
        var normals = Normals(state: 9)
        let volume = (0..<size.voxelCount).map { _ in Float(normals.next()) }
        let result = try Self.run(volume, size: size, angles: try TiltAngles(degrees: Self.degrees))
        #expect(result.fit.residual > 0.3, "residual \(result.fit.residual)")
        // Wrong angles for a real back-projection: also refused.
        let (wbp, _, _) = Self.backProjection(size: size, degrees: Self.degrees, axis: .y)
        let wrong = try Self.run(wbp, size: size, angles: try TiltAngles(parsing: "-50:50:12.5"))
        #expect(wrong.fit.residual > 0.1, "residual \(wrong.fit.residual)")
    }

    @Test("tilt angles from a range or a .tlt file; bad lists are refused")
    func angles() throws {
        #expect(try TiltAngles(parsing: "-60:60:3").degrees.count == 41)
        #expect(try TiltAngles(parsing: "-60:60:3").degrees[20] == 0)
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("a.tlt").path
        try "  12.5\n-3.01  \n# a comment\n\n40\n-60.0\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try TiltAngles(parsing: path).degrees == [-60, -3.01, 12.5, 40])
        for bad in ["-60:60:0", "60:-60:3", "1,2,3", "-1:1:1", dir.appendingPathComponent("missing.tlt").path] {
            #expect(throws: FilterError.self) { try TiltAngles(parsing: bad) }
        }
        try "10\nten\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: FilterError.self) { try TiltAngles(parsing: path) }
        #expect(throws: FilterError.self) { try TiltAngles(degrees: [0, 10, 10, 20]) }
        #expect(throws: FilterError.self) { try TiltAngles(degrees: [0, 10, 95, 20]) }
    }
}
