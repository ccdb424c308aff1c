/// Text to token ids and back: what the engine, `mstat tokenize`/`ppl` and the trainers need of any
/// tokenizer (byte-level BPE from GGUF or tokenizer.json, or plain bytes).
public protocol Tokenizer: AnyObject {
    /// Number of ids (the model's vocabulary must be at least this large).
    var vocabularySize: Int { get }
    /// Beginning-of-sequence id, when the tokenizer has one.
    var bosToken: Int32? { get }
    /// Whether encoding puts `bosToken` first (perplexity windows then start with it too).
    var addsBOS: Bool { get }
    /// Token ids of `text`.
    func encode(_ text: String) -> [Int32]
    /// The bytes that `ids` stand for (invalid ids are skipped).
    func decodeBytes(_ ids: [Int32]) -> [UInt8]
    /// A token's text as the vocabulary stores it, for listings.
    func pieceText(_ id: Int32) -> String
}

extension Tokenizer {
    /// The text that `ids` stand for (invalid UTF-8 becomes U+FFFD).
    public func decode(_ ids: [Int32]) -> String {
        String(decoding: decodeBytes(ids), as: UTF8.self)
    }
}
