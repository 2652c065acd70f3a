import Testing
@testable import FilterKit

@Suite("FilterError: a stage's error keeps its typed cause")
struct FilterErrorTests {
    struct Foreign: Error, CustomStringConvertible {
        var description: String { "a foreign failure" }
    }

    @Test("wrapped once, with the cause typed; the line reads as before")
    func typedCause() {
        let parameter = FilterError.invalidParameter(name: "crop z", value: "4..20", expected: "a range within the volume's 8 voxels")
        let wrapped = FilterError.stage("crop", at: "setup", parameter)
        #expect(wrapped == .stage(name: "crop", region: "setup", cause: parameter))
        #expect("\(wrapped)" == "stage crop at setup: invalid crop z '4..20': expected a range within the volume's 8 voxels")
        #expect(wrapped.rootCause == parameter)
        // An upstream stage's error passes a downstream stage as it is.
        #expect(FilterError.stage("gaussian", at: "z 0..<8", wrapped) == wrapped)
        // Errors from elsewhere keep their description.
        let foreign = FilterError.stage("s2s", at: "prepass, section 3", Foreign())
        #expect("\(foreign)" == "stage s2s at prepass, section 3: a foreign failure" && foreign.rootCause == .other(message: "a foreign failure"))
        let io = FilterError.stage("median", at: "setup", FilterError.truncated(source: "in.mrc", offset: 1024, expected: "8 more bytes"))
        if case .truncated = io.rootCause {} else { Issue.record("root cause \(io.rootCause)") }
    }
}
