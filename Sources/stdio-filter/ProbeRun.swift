import FilterKit
import StageCatalog

/// Runs the prepasses of an optional chain followed by a measuring stage (`stats`, `noise`) over
/// an input, then hands `report` the input's name and the parsed chain, inside the command's
/// console (one-line errors, exit status from the cause).
func runProbe(
    _ probe: any PrepassStage, after chain: String?, command: String, global: GlobalOptions, io: InputOptions, input: String,
    report: (_ source: String, _ chain: [ChainSpec.Element]) throws -> Void
) throws {
    var spec: [ChainSpec.Element] = []
    let chainStages = try makeStages(command: command, quiet: global.quiet) {
        spec = try ChainSpec.parse(chain ?? "", allowEmpty: true)
        return try stageRegistry.makeChain(spec)
    }
    let stages = chainStages + [probe]
    let console = Console(command: command, quiet: global.quiet)
    try console.run {
        Log.handler = { console.note($0) }
        let (_, reader) = try io.openInput(input, memoryBudget: global.memoryBytes(for: stages), console: console)
        let pipeline = try Pipeline(reader: reader, stages: stages, options: global.pipelineOptions(for: stages))
        try pipeline.runPrepasses()
        try report(reader.sourceName, spec)
    }
}
