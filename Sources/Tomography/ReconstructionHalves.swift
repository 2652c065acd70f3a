import Foundation

/// The two half reconstructions (even- and odd-numbered frames or tilts) that reconstruction
/// programs write beside a tomogram, found by those programs' naming conventions.
///
/// Two independent halves are the best training data a tomogram has: `n2n` on them beats the best
/// Gaussian against the specimen where Self2Self's masks and the split of one back-projection do
/// not (docs/benchmarks.md, issue 35). Conventions, as the programs write them:
/// - **AreTomo3** (`-SplitSum 1`): `NAME_Vol.mrc` with `NAME_EVN_Vol.mrc` and `NAME_ODD_Vol.mrc` in
///   the same directory (its `CTsPackage::SaveVol`); binned copies keep the tag before `_Vol`
///   (`NAME_Vol_b4.mrc`, `NAME_EVN_Vol_b4.mrc`), or append it (`NAME_b4.mrc`, `NAME_b4_EVN.mrc`).
/// - **Warp / WarpTools**: `reconstruction/NAME.mrc` with `reconstruction/even/NAME.mrc` and
///   `reconstruction/odd/NAME.mrc`.
public struct ReconstructionHalves: Equatable, Sendable {
    /// The even half's path, the odd half's path.
    public var even: String, odd: String
    /// The program whose convention names them ("AreTomo3", "Warp").
    public var convention: String

    public init(even: String, odd: String, convention: String) {
        (self.even, self.odd, self.convention) = (even, odd, convention)
    }

    /// The pairs the conventions name for the tomogram at `path`, most specific first, whether
    /// or not the files exist. None for a path that is itself a half.
    public static func candidates(for path: String) -> [ReconstructionHalves] {
        let directory = (path as NSString).deletingLastPathComponent, name = (path as NSString).lastPathComponent
        let ext = (name as NSString).pathExtension, stem = (name as NSString).deletingPathExtension
        let dot = ext.isEmpty ? "" : "." + ext
        let upper = stem.uppercased()
        guard !name.isEmpty, !upper.contains("_EVN"), !upper.contains("_ODD"),
              !["even", "odd"].contains((directory as NSString).lastPathComponent) else { return [] }
        func beside(_ file: String) -> String { (directory as NSString).appendingPathComponent(file) }
        var found: [ReconstructionHalves] = []
        // AreTomo3: the tag goes before the last "_Vol".
        if let vol = stem.range(of: "_Vol", options: .backwards) {
            let (head, tail) = (stem[..<vol.lowerBound], stem[vol.lowerBound...])
            found.append(ReconstructionHalves(even: beside("\(head)_EVN\(tail)\(dot)"), odd: beside("\(head)_ODD\(tail)\(dot)"), convention: "AreTomo3"))
        }
        found.append(ReconstructionHalves(even: beside("\(stem)_EVN\(dot)"), odd: beside("\(stem)_ODD\(dot)"), convention: "AreTomo3"))
        // Warp: even/ and odd/ beside the full reconstruction, the same file name.
        found.append(ReconstructionHalves(even: beside("even/\(name)"), odd: beside("odd/\(name)"), convention: "Warp"))
        return found
    }

    /// The first pair of ``candidates(for:)`` whose two files exist, or nil.
    public static func find(beside path: String, exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) -> ReconstructionHalves? {
        candidates(for: path).first { exists($0.even) && exists($0.odd) }
    }
}
