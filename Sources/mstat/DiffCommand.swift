import ArgumentParser
import Checkpoint
import Kernels
import ToolSupport

/// `mstat diff A B`: how far B is from the reference A, per tensor and overall.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Per-tensor and overall max abs error, RMSE, relative error, SQNR (dB) and cosine similarity of B against A.")

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    @Argument(help: "The reference checkpoint ('-' for standard input).")
    var reference: String

    @Argument(help: "The checkpoint to compare with it.")
    var other: String

    func validate() throws {
        if reference == "-" && other == "-" { throw ValidationError("only one of A and B can be standard input") }
    }

    func run() throws {
        let a = try Checkpoint.open(reference)
        let b = try Checkpoint.open(other)
        let rows = try CheckpointComparison.compare(a, b)
        try a.verifyUnchanged()
        try b.verifyUnchanged()
        var overall = ErrorStatistics()
        for row in rows { overall.merge(row.errors) }
        if json {
            JSONOutput.printLine(.object([
                ("a", .string(a.name)), ("b", .string(b.name)),
                ("tensors", .array(rows.map { row in .object([("name", .string(row.name))] + metrics(row.errors)) })),
                ("overall", .object(metrics(overall))),
            ]))
            return
        }
        var table = TextTable(header: ["tensor", "max_abs", "rmse", "rel_err", "sqnr_db", "cosine"])
        for row in rows + [("overall", overall)] {
            let e = row.1
            table.append([row.0, Format.general(Double(e.maxAbsoluteError)), Format.general(e.rootMeanSquaredError),
                          Format.general(e.relativeError), Format.fixed(e.signalToNoiseDecibels, 2), Format.fixed(e.cosineSimilarity, 6)])
        }
        print("A = \(a.name)\nB = \(b.name)\n" + table.render())
        if overall.nonFiniteMismatches > 0 {
            print("non-finite mismatches (NaN or Inf on one side only): \(overall.nonFiniteMismatches)")
        }
    }

    private func metrics(_ e: ErrorStatistics) -> [(key: String, value: JSONValue)] {
        [("max_abs_error", JSONOutput.number(Double(e.maxAbsoluteError))),
         ("rmse", JSONOutput.number(e.rootMeanSquaredError)),
         ("relative_error", JSONOutput.number(e.relativeError)),
         ("sqnr_db", JSONOutput.number(e.signalToNoiseDecibels)),
         ("cosine", JSONOutput.number(e.cosineSimilarity)),
         ("non_finite_mismatches", JSONOutput.number(e.nonFiniteMismatches))]
    }
}
