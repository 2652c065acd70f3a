/// A stage that is not compiled in: loaded at run time from a plugin (see the RuntimePlugins
/// module and `stdio_filter_plugin.h`). It is described by values rather than by a type, so the
/// registry can hold any number of them, and chains, `list` and `stage NAME` treat it like a
/// built-in stage.
public struct RuntimeStageDescriptor: Sendable {
    public let name: String
    public let summary: String
    public let parameters: [StageParameter]
    /// Where the stage came from (the plugin's path), shown by `list` and in errors.
    public let origin: String
    /// Makes a stage from checked parameters.
    public let make: @Sendable (StageParameters) throws -> any Stage

    public init(name: String, summary: String, parameters: [StageParameter], origin: String, make: @escaping @Sendable (StageParameters) throws -> any Stage) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.origin = origin
        self.make = make
    }
}
