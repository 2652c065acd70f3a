import Testing
@testable import FilterKit

@Suite("PlaneRect: the runs of a rectangle in a section")
struct PlaneRectTests {
    /// Every (planeOffset, rectOffset, count) run `rect` reports in a section `width` wide.
    static func runs(_ rect: PlaneRect, width: Int) -> [[Int]] {
        var runs: [[Int]] = []
        rect.forEachRun(inPlaneOfWidth: width) { runs.append([$0, $1, $2]) }
        return runs
    }

    @Test("a full-width band is one run; a narrower rectangle one run per row; an empty one none")
    func runs() {
        #expect(Self.runs(PlaneRect(x: 0..<8, y: 2..<5), width: 8) == [[16, 0, 24]])
        #expect(Self.runs(PlaneRect(x: 3..<6, y: 1..<3), width: 8) == [[11, 0, 3], [19, 3, 3]])
        #expect(Self.runs(PlaneRect(x: 3..<3, y: 1..<3), width: 8).isEmpty)
    }

    @Test("the runs cover exactly the rectangle's voxels, each once, in order", arguments: [(0..<7, 0..<5), (2..<5, 1..<4), (6..<7, 4..<5), (0..<1, 0..<5)])
    func cover(_ x: Range<Int>, _ y: Range<Int>) {
        let (width, height) = (7, 5)
        let rect = PlaneRect(x: x, y: y)
        var covered = [Int](repeating: -1, count: width * height)
        var next = 0
        rect.forEachRun(inPlaneOfWidth: width) { planeOffset, rectOffset, count in
            #expect(rectOffset == next)
            for i in 0..<count { covered[planeOffset + i] = rectOffset + i }
            next = rectOffset + count
        }
        #expect(next == rect.voxels)
        for py in 0..<height {
            for px in 0..<width {
                let expected = x.contains(px) && y.contains(py) ? (py - y.lowerBound) * x.count + (px - x.lowerBound) : -1
                #expect(covered[py * width + px] == expected, "(\(px), \(py))")
            }
        }
    }
}
