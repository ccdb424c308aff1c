import Checkpoint
#if canImport(Glibc)
import Glibc
#endif

/// A model ready to run: its checkpoint, configuration and tokenizer, each found where its format keeps
/// it. GGUF: all in the metadata. safetensors (also sharded, also inside .nz): the configuration in
/// `__metadata__["config"]` (a config.json text, as floratrain writes it) or in config.json beside the
/// file; the tokenizer in `__metadata__["tokenizer"]` ("byte" for raw bytes, or a tokenizer.json
/// text), else in tokenizer.json beside the file.
public struct ModelFiles {
    public let checkpoint: Checkpoint
    public let config: LlamaConfig
    public let tokenizer: Tokenizer

    /// Metadata keys a safetensors model carries its configuration and tokenizer kind under.
    public static let configKey = "config", tokenizerKey = "tokenizer"

    /// Opens the model at `path` (a file, or a directory holding model.safetensors and its index).
    public static func open(_ path: String) throws -> ModelFiles {
        let checkpoint = try Checkpoint.open(path)
        let config = try self.config(of: checkpoint, path: path)
        let tokenizer = try self.tokenizer(of: checkpoint, path: path)
        guard tokenizer.vocabularySize <= config.vocab else {
            throw CheckpointError(file: checkpoint.name, "the tokenizer has \(tokenizer.vocabularySize) tokens but the model only \(config.vocab)")
        }
        return ModelFiles(checkpoint: checkpoint, config: config, tokenizer: tokenizer)
    }

    /// The configuration of the model `checkpoint`, opened from `path`.
    public static func config(of checkpoint: Checkpoint, path: String) throws -> LlamaConfig {
        if let header = checkpoint.ggufHeader { return try LlamaConfig(gguf: header, name: checkpoint.name) }
        return try json(checkpoint, path: path, key: configKey, file: "config.json", what: "model configuration") {
            try LlamaConfig(huggingFace: $0, name: $1)
        }
    }

    /// The tokenizer of the model `checkpoint`, opened from `path`.
    public static func tokenizer(of checkpoint: Checkpoint, path: String) throws -> Tokenizer {
        if let header = checkpoint.ggufHeader { return try BPETokenizer(gguf: header, name: checkpoint.name) }
        if metadata(checkpoint, tokenizerKey) == "byte" { return ByteTokenizer() }
        return try json(checkpoint, path: path, key: tokenizerKey, file: "tokenizer.json", what: "tokenizer") {
            try BPETokenizer(huggingFace: $0, name: $1)
        }
    }

    /// Reads the JSON stored in `__metadata__[key]`, else in `file` beside the checkpoint, and makes `T`
    /// from it (`make` gets the JSON and a name for errors).
    private static func json<T>(_ checkpoint: Checkpoint, path: String, key: String, file: String, what: String,
                                _ make: (JSONValue, String) throws -> T) throws -> T {
        if let text = metadata(checkpoint, key) {
            let name = "\(checkpoint.name): __metadata__.\(key)"
            return try make(try parseJSON(Array(text.utf8), name: name), name)
        }
        let beside = directory(of: path) + "/" + file
        guard access(beside, R_OK) == 0 else {
            throw CheckpointError(file: checkpoint.name, "has no \(what): no __metadata__.\(key) and no \(beside)")
        }
        return try make(try parseJSON(try InputSource.open(beside).readAll(), name: beside), beside)
    }

    /// The engine over this model.
    /// The `__metadata__` entries that make a safetensors file a self-contained model for every tool:
    /// its config.json text and its tokenizer (a tokenizer.json text, or "byte").
    public static func metadata(config: LlamaConfig, tied: Bool, tokenizer: Tokenizer,
                                extraConfig: [(String, JSONValue)] = []) -> [(key: String, value: String)] {
        let tokenizerText = (tokenizer as? BPETokenizer)?.huggingFaceJSON() ?? "byte"
        return [(configKey, config.huggingFaceJSON(tied: tied, extra: extraConfig)), (tokenizerKey, tokenizerText)]
    }

    public func model() throws -> LlamaModel { try LlamaModel(checkpoint, config: config) }

    private static func metadata(_ checkpoint: Checkpoint, _ key: String) -> String? {
        checkpoint.metadata.first { $0.key == key }?.value.stringValue
    }

    private static func parseJSON(_ bytes: [UInt8], name: String) throws -> JSONValue {
        do { return try JSONParser.parse(bytes) } catch {
            throw CheckpointError(file: name, "invalid JSON at byte \(error.offset): \(error.reason)")
        }
    }

    private static func directory(of path: String) -> String {
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { return path }
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
