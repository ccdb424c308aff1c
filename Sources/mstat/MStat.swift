import ArgumentParser
import ToolSupport

/// mstat: inspect, compare and evaluate checkpoints.
@main
struct MStat: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mstat",
        abstract: "Inspect, compare and evaluate checkpoints (safetensors, GGUF, sharded safetensors).",
        discussion: """
            With no subcommand, lists each FILE: format, tensor count, parameters, bytes, metadata and one row \
            per tensor. FILE '-' (or no FILE) reads standard input. See mstat(1).
            """,
        subcommands: [ListCommand.self, StatsCommand.self, DiffCommand.self, TokenizeCommand.self, PerplexityCommand.self],
        defaultSubcommand: ListCommand.self)

    static func main() { ToolRunner.main(MStat.self) }
}
