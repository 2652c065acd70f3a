/// How the pipeline runs a stage: the closed set of kinds it switches over.
///
/// A stage adopts ``StreamingStage`` (or a refinement of it) or ``WholeVolumeStage``; this is the one
/// place that asks which. A stage adopting neither is refused when the ``Pipeline`` is made,
/// naming the stage, instead of trapping later.
public enum StageKind {
    /// Streams slabs or bricks of its output from padded input regions.
    case streaming(any StreamingStage)
    /// Absorbs every input section, then emits its output in order.
    case wholeVolume(any WholeVolumeStage)

    /// The kind of `stage`; throws naming the stage when it adopts neither protocol.
    public init(_ stage: any Stage) throws {
        if let tile = stage as? StreamingStage {
            self = .streaming(tile)
        } else if let whole = stage as? WholeVolumeStage {
            self = .wholeVolume(whole)
        } else {
            throw FilterError.stage(
                name: stage.name, region: "setup", cause: .other(message: "the stage adopts neither StreamingStage nor WholeVolumeStage, so no pipeline can run it"))
        }
    }

    /// The kinds of a chain's stages, in order.
    public static func of(_ stages: [any Stage]) throws -> [StageKind] { try stages.map(StageKind.init) }

    /// The stage itself.
    public var stage: any Stage {
        switch self {
        case .streaming(let stage): return stage
        case .wholeVolume(let stage): return stage
        }
    }

    /// The streaming stage, or nil for a whole-volume one.
    public var streaming: (any StreamingStage)? {
        if case .streaming(let stage) = self { return stage }
        return nil
    }

    /// The streaming stage that measures its input first, or nil.
    public var measuring: (any PrepassStage)? { streaming as? PrepassStage }

    /// Passes over the whole input before streaming (0 for most stages).
    public var prepassCount: Int { measuring?.prepassCount ?? 0 }

    /// Whether this is a whole-volume stage.
    public var isWholeVolume: Bool { streaming == nil }
}
