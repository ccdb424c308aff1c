import ArgumentParser
import ToolSupport

/// The .nz inspection flags nzip and nunzip share (zstd's -l and -t).
struct NZInspectOptions: ParsableArguments {
    @Flag(name: [.customShort("l"), .long], help: "List the tensors of .nz files with their compressed sizes.")
    var list = false

    @Flag(name: [.customShort("t"), .long], help: "Test the integrity of .nz files (decode everything, write nothing).")
    var test = false

    @Flag(name: .long, help: "With -l: one JSON object per file.")
    var json = false

    func validate() throws {
        if list && test { throw ValidationError("-l and -t exclude each other") }
    }

    /// Runs -l or -t on `input`; false when neither was asked.
    func run(_ input: String, runOptions: RunOptions) throws -> Bool {
        if list {
            try NZFileActions.list(input, json: json)
        } else if test {
            try NZFileActions.test(input, run: runOptions)
        } else {
            return false
        }
        return true
    }
}
