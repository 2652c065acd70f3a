import Testing
import Tomography

@Suite("halves beside a tomogram")
struct ReconstructionHalvesTests {
    @Test("AreTomo3's and Warp's names, in order; a half itself has none")
    func candidates() {
        func pairs(_ path: String) -> [String] { ReconstructionHalves.candidates(for: path).map { "\($0.convention) \($0.even) \($0.odd)" } }
        #expect(pairs("run/ts-01_Vol.mrc") == [
            "AreTomo3 run/ts-01_EVN_Vol.mrc run/ts-01_ODD_Vol.mrc",
            "AreTomo3 run/ts-01_Vol_EVN.mrc run/ts-01_Vol_ODD.mrc",
            "Warp run/even/ts-01_Vol.mrc run/odd/ts-01_Vol.mrc",
        ])
        #expect(pairs("/d/ts_Vol_b4.mrc").first == "AreTomo3 /d/ts_EVN_Vol_b4.mrc /d/ts_ODD_Vol_b4.mrc")
        #expect(pairs("ts_b4.mrc") == ["AreTomo3 ts_b4_EVN.mrc ts_b4_ODD.mrc", "Warp even/ts_b4.mrc odd/ts_b4.mrc"])
        #expect(pairs("reconstruction/TS_1_10.00Apx.mrc").last == "Warp reconstruction/even/TS_1_10.00Apx.mrc reconstruction/odd/TS_1_10.00Apx.mrc")
        for half in ["ts_EVN_Vol.mrc", "ts_ODD_Vol.mrc", "ts_b4_evn.mrc", "reconstruction/even/t.mrc", "odd/t.mrc", ""] {
            #expect(pairs(half).isEmpty, "\(half)")
        }
    }

    @Test("find takes the first pair whose two files exist")
    func find() {
        let files: Set = ["d/even/t_Vol.mrc", "d/odd/t_Vol.mrc", "d/t_EVN_Vol.mrc"]
        #expect(ReconstructionHalves.find(beside: "d/t_Vol.mrc", exists: files.contains)?.convention == "Warp")
        #expect(ReconstructionHalves.find(beside: "d/t_Vol.mrc", exists: files.union(["d/t_ODD_Vol.mrc"]).contains)?.even == "d/t_EVN_Vol.mrc")
        #expect(ReconstructionHalves.find(beside: "e/t_Vol.mrc", exists: files.contains) == nil)
    }
}
