import Checkpoint

/// A byte-level BPE tokenizer (GPT-2 family: SmolLM, LLaMA 3, Qwen...), with token ids equal to
/// llama.cpp's: pre-tokenise (`PreTokenizer`), map bytes to GPT-2's byte alphabet, then merge adjacent
/// symbols by rank, lowest first and leftmost among equals, until no ranked pair is left.
public final class BPETokenizer: Tokenizer {
    /// Token text by id.
    public let tokens: [String]
    private let ids: [String: Int32]
    /// Merges "left right" in rank order, and rank by merge.
    public let merges: [String]
    private let ranks: [String: Int]
    public let preTokenizer: PreTokenizer
    /// Beginning-of-sequence id, and whether encoding adds it.
    public let bosToken: Int32?
    public let addsBOS: Bool
    /// LLaMA 3's rule (`ignore_merges`): a piece that is itself a token is not merged.
    public let ignoresMerges: Bool
    /// Pieces already encoded (text is full of repeated words).
    private var cache: [String: [Int32]] = [:]

    public init(tokens: [String], merges: [String], preTokenizer: PreTokenizer, bosToken: Int32? = nil, addsBOS: Bool = false,
                ignoresMerges: Bool = false) {
        self.tokens = tokens
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, text) in tokens.enumerated() where ids[text] == nil { ids[text] = Int32(id) }
        self.ids = ids
        var ranks: [String: Int] = [:]
        ranks.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() where ranks[merge] == nil { ranks[merge] = rank }
        self.ranks = ranks
        self.merges = merges
        self.preTokenizer = preTokenizer
        self.bosToken = bosToken
        self.addsBOS = addsBOS
        self.ignoresMerges = ignoresMerges
    }

    public var vocabularySize: Int { tokens.count }

    public func pieceText(_ id: Int32) -> String { (0..<tokens.count).contains(Int(id)) ? tokens[Int(id)] : "" }

    /// The tokenizer a GGUF file describes (`tokenizer.ggml.model` = gpt2).
    public convenience init(gguf header: GGUFHeader, name: String) throws {
        guard header["tokenizer.ggml.model"]?.stringValue == "gpt2" else {
            throw CheckpointError(file: name, "tokenizer model '\(header["tokenizer.ggml.model"]?.stringValue ?? "none")' is not byte-level BPE (gpt2)")
        }
        guard case .array(_, let tokenValues)? = header["tokenizer.ggml.tokens"],
              case .array(_, let mergeValues)? = header["tokenizer.ggml.merges"] else {
            throw CheckpointError(file: name, "tokenizer.ggml.tokens or tokenizer.ggml.merges is missing")
        }
        let preName = header["tokenizer.ggml.pre"]?.stringValue ?? "default"
        guard let pre = PreTokenizer(ggufName: preName) else {
            throw CheckpointError(file: name, "pre-tokenizer '\(preName)' is not supported (supported: default, gpt2, smollm, llama-bpe)")
        }
        let tokens = tokenValues.map { $0.stringValue ?? "" }
        let bos = header["tokenizer.ggml.bos_token_id"]?.integerValue.map(Int32.init)
        let addBOS: Bool
        if case .bool(let flag)? = header["tokenizer.ggml.add_bos_token"] { addBOS = flag } else { addBOS = false }
        self.init(tokens: tokens, merges: mergeValues.map { $0.stringValue ?? "" }, preTokenizer: pre, bosToken: bos, addsBOS: addBOS && bos != nil,
                  ignoresMerges: pre == .llamaBPE)
    }

    /// Token ids of `text` (special-token texts are not parsed: they are ordinary text here, as in
    /// llama.cpp with parse_special off).
    public func encode(_ text: String) -> [Int32] {
        var out: [Int32] = addsBOS ? [bosToken!] : []
        for piece in preTokenizer.split(text) {
            let word = ByteLevelEncoding.encode(String(piece).utf8)
            if let known = cache[word] {
                out += known
                continue
            }
            let encoded = encodeWord(word)
            cache[word] = encoded
            out += encoded
        }
        return out
    }

    /// The bytes that `ids` stand for (invalid ids and non-byte-level characters are skipped).
    public func decodeBytes(_ ids: [Int32]) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids where id >= 0 && Int(id) < tokens.count {
            for scalar in tokens[Int(id)].unicodeScalars {
                if let byte = ByteLevelEncoding.bytes[scalar] { out.append(byte) }
            }
        }
        return out
    }

    /// BPE over one byte-level word.
    private func encodeWord(_ word: String) -> [Int32] {
        if ignoresMerges, let id = ids[word] { return [id] }
        var symbols = word.map { String($0) }
        while symbols.count > 1 {
            var best = Int.max, at = -1
            for i in 0..<(symbols.count - 1) {
                if let rank = ranks[symbols[i] + " " + symbols[i + 1]], rank < best {
                    best = rank
                    at = i
                }
            }
            if at < 0 { break }
            symbols[at] += symbols[at + 1]
            symbols.remove(at: at + 1)
        }
        var out: [Int32] = []
        for symbol in symbols {
            if let id = ids[symbol] {
                out.append(id)
            } else {
                // Not in the vocabulary: llama.cpp looks up each UTF-8 byte of the symbol on its own and
                // drops what it cannot find (vocabularies that lack some control bytes lose them).
                for byte in symbol.utf8 {
                    if let id = ids[String(decoding: [byte], as: UTF8.self)] { out.append(id) }
                }
            }
        }
        return out
    }
}
