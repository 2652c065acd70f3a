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

    @Test("the exit status comes from the root cause: usage (64) for a parameter, 1 for the data, files and system")
    func exitStatus() {
        let parameter = FilterError.invalidParameter(name: "crop z", value: "4..20", expected: "a range within the volume's 8 voxels")
        #expect(parameter.exitStatus == 64)
        #expect(FilterError.stage("crop", at: "setup", parameter).exitStatus == 64)
        #expect(FilterError.outputIsInput(path: "a.mrc").exitStatus == 1)
        let small = FilterError.unsuitableInput(what: "the s2s input size", found: "4×4×4", expected: "at least 8 voxels along every axis")
        #expect("\(small)" == "the s2s input size is 4×4×4: expected at least 8 voxels along every axis")
        #expect(FilterError.stage("s2s", at: "setup", small).exitStatus == 1)
        #expect(FilterError.stage("median", at: "z 0..<8", FilterError.truncated(source: "in.mrc", offset: 1024, expected: "8 more bytes")).exitStatus == 1)
        #expect(FilterError.other(message: "a foreign failure").exitStatus == 1)
    }
}
