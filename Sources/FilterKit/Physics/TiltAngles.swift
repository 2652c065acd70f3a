import Foundation

/// The tilt angles a tomogram was reconstructed from, in degrees, as the user gives them:
/// `FIRST:LAST:STEP` (`-60:60:3`) or the path of a file with one angle per line (IMOD's `.tlt`;
/// blank lines and `#` comments skipped).
public struct TiltAngles: Sendable, Equatable, CustomStringConvertible {
    /// The angles in degrees, sorted.
    public let degrees: [Double]

    /// Angles in degrees (any order; they are sorted).
    public init(degrees: [Double]) throws {
        guard degrees.count >= 4 else {
            throw FilterError.invalidParameter(name: "tilts", value: "\(degrees.count) angles", expected: "at least 4 tilt angles (two halves of two tilts each)")
        }
        guard degrees.allSatisfy({ $0.isFinite && abs($0) < 90 }) else {
            throw FilterError.invalidParameter(name: "tilts", value: degrees.map { "\($0)" }.joined(separator: ","), expected: "angles between -90 and 90 degrees")
        }
        let sorted = degrees.sorted()
        for (a, b) in zip(sorted, sorted.dropFirst()) where b - a < 0.01 {
            throw FilterError.invalidParameter(name: "tilts", value: "\(a) and \(b)", expected: "distinct tilt angles (two closer than 0.01 degrees)")
        }
        self.degrees = sorted
    }

    /// Parses `FIRST:LAST:STEP` or reads a file of angles.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 3, let first = Double(parts[0]), let last = Double(parts[1]), let step = Double(parts[2]) {
            guard step > 0, last > first, (last - first) / step < 10_000 else {
                throw FilterError.invalidParameter(name: "tilts", value: text, expected: "FIRST:LAST:STEP with FIRST < LAST and a positive STEP (as -60:60:3)")
            }
            let count = Int(((last - first) / step + 1e-6).rounded(.down)) + 1
            try self.init(degrees: (0..<count).map { first + Double($0) * step })
            return
        }
        guard FileManager.default.fileExists(atPath: text) else {
            throw FilterError.invalidParameter(name: "tilts", value: text, expected: "FIRST:LAST:STEP (as -60:60:3) or a file of angles, one per line (IMOD .tlt); no such file")
        }
        let contents: String
        do { contents = try String(contentsOfFile: text, encoding: .utf8) } catch {
            throw FilterError.invalidParameter(name: "tilts", value: text, expected: "a readable text file of angles (\(error.localizedDescription))")
        }
        var angles: [Double] = []
        for (number, line) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let body = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let word = body.trimmingCharacters(in: .whitespacesAndNewlines)
            if word.isEmpty { continue }
            guard let angle = Double(word.split(whereSeparator: { $0 == " " || $0 == "\t" })[0]) else {
                throw FilterError.invalidParameter(name: "tilts", value: "\(text) line \(number + 1): \(word.prefix(40))", expected: "one angle in degrees per line")
            }
            angles.append(angle)
        }
        try self.init(degrees: angles)
    }

    public var description: String {
        String(format: "%d tilts, %.1f° to %.1f°", degrees.count, degrees.first!, degrees.last!)
    }
}
