import ArgumentParser
import Checkpoint
import ToolSupport

/// The files and output format shared by `mstat list` and `mstat stats`.
struct InputFiles: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON object per file (one per line).")
    var json = false

    @Argument(help: "Checkpoint files ('-' for standard input).")
    var files: [String] = []

    /// Opens each file in turn (standard input when none is given) and prints what `report` makes of
    /// it: a JSON line, or a text block with blank lines between files.
    func forEach(_ report: (Checkpoint) throws -> (text: String, json: JSONValue)) throws {
        for (n, path) in (files.isEmpty ? ["-"] : files).enumerated() {
            let checkpoint = try Checkpoint.open(path)
            let result = try report(checkpoint)
            if json {
                JSONOutput.printLine(result.json)
            } else {
                if n > 0 { print("") }
                print(result.text)
            }
        }
    }
}
