import ArgumentParser
import Checkpoint
import LM
import ToolSupport

/// `mstat tokenize MODEL`: the token ids a model's tokenizer gives a text (as llama.cpp's tokenizer would).
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text with the model's tokenizer (GGUF metadata, tokenizer.json, or bytes).")

    @Option(name: .long, help: ArgumentHelp("Read the text from FILE ('-' or absent: standard input).", valueName: "FILE"))
    var text: String?

    @Flag(name: .long, help: "Print one token per line: id, then the token's text.")
    var pieces = false

    @Flag(name: .long, help: "Print one JSON object: the ids and their count.")
    var json = false

    @Argument(help: "The model whose tokenizer to use (GGUF, or safetensors with tokenizer.json beside it).")
    var model: String

    func validate() throws {
        if model == "-" && (text == nil || text == "-") { throw ValidationError("the model and the text cannot both come from standard input") }
        if pieces && json { throw ValidationError("--pieces and --json exclude each other") }
    }

    func run() throws {
        let tokenizer = try ModelFiles.tokenizer(of: try Checkpoint.open(model), path: model)
        let ids = tokenizer.encode(try InputSource.open(text ?? "-").readText())
        if json {
            JSONOutput.printLine(.object([("count", JSONOutput.number(ids.count)), ("ids", .array(ids.map { JSONOutput.number(Int($0)) }))]))
        } else if pieces {
            for id in ids { print("\(id)\t\(tokenizer.pieceText(id))") }
        } else {
            print(ids.map(String.init).joined(separator: " "))
        }
    }
}
