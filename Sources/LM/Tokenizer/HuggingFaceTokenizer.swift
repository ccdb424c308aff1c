import Checkpoint

extension BPETokenizer {
    /// The byte-level BPE tokenizer a Hugging Face `tokenizer.json` describes: `model` of type BPE
    /// (vocab, merges as "a b" strings or [a, b] pairs, ignore_merges), `added_tokens`, and a
    /// pre-tokenizer recognised as one of `PreTokenizer`'s (ByteLevel alone: gpt2; Digits with
    /// individual digits then ByteLevel: smollm; LLaMA 3's Split regex then ByteLevel: llama-bpe). A
    /// TemplateProcessing post-processor that starts with a special token makes that token the BOS.
    /// Anything else (normalizers, other models or patterns) is refused rather than tokenised wrongly.
    public convenience init(huggingFace json: JSONValue, name: String) throws {
        func fail(_ message: String) -> CheckpointError { CheckpointError(file: name, message) }
        guard let model = json["model"], case .string("BPE")? = model["type"] else {
            throw fail("model.type is not BPE: only byte-level BPE tokenizers are supported")
        }
        if let normalizer = json["normalizer"], normalizer != .null { throw fail("normalizers are not supported") }
        guard case .object(let vocab)? = model["vocab"] else { throw fail("model.vocab is missing") }
        var byID: [Int: String] = [:]
        for (token, value) in vocab {
            guard let id = value.nonNegativeInteger else { throw fail("model.vocab['\(token)'] is not an id") }
            byID[id] = token
        }
        if case .array(let added)? = json["added_tokens"] {
            for entry in added {
                guard let id = entry["id"]?.nonNegativeInteger, case .string(let content)? = entry["content"] else {
                    throw fail("added_tokens holds an entry without id and content")
                }
                byID[id] = content
            }
        }
        let count = (byID.keys.max() ?? -1) + 1
        guard count == byID.count else { throw fail("token ids are not contiguous from 0 (\(byID.count) tokens, largest id \(count - 1))") }
        guard case .array(let mergeValues)? = model["merges"] else { throw fail("model.merges is missing") }
        let merges = try mergeValues.map { value -> String in
            switch value {
            case .string(let pair): return pair
            case .array(let parts) where parts.count == 2:
                if case .string(let left) = parts[0], case .string(let right) = parts[1] { return left + " " + right }
            default: break
            }
            throw fail("model.merges holds an entry that is neither \"a b\" nor [a, b]")
        }
        let pre = try Self.preTokenizer(json["pre_tokenizer"], fail)
        var bos: Int32?
        if let post = json["post_processor"], case .string("TemplateProcessing")? = post["type"],
           case .array(let single)? = post["single"], let firstSpecial = single.first?["SpecialToken"],
           case .string(let content)? = firstSpecial["id"] {
            guard let id = byID.first(where: { $0.value == content })?.key else { throw fail("post_processor names unknown token '\(content)'") }
            bos = Int32(id)
        }
        var ignoresMerges = false
        if case .bool(let flag)? = model["ignore_merges"] { ignoresMerges = flag }
        self.init(tokens: (0..<count).map { byID[$0]! }, merges: merges, preTokenizer: pre, bosToken: bos, addsBOS: bos != nil,
                  ignoresMerges: ignoresMerges)
    }

    /// The tokenizer as a Hugging Face tokenizer.json (what trainers store in `__metadata__.tokenizer`, so
    /// that a fine-tuned model keeps its tokenizer): vocabulary, merges, the pre-tokenizer, and BOS as a
    /// TemplateProcessing post-processor when encoding adds it.
    public func huggingFaceJSON() -> String {
        let byteLevel = { (regex: Bool) -> JSONValue in
            .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(true)), ("use_regex", .bool(regex))])
        }
        let pre: JSONValue
        switch preTokenizer {
        case .gpt2: pre = byteLevel(true)
        case .smollm:
            pre = .object([("type", .string("Sequence")), ("pretokenizers", .array([
                .object([("type", .string("Digits")), ("individual_digits", .bool(true))]), byteLevel(true)]))])
        case .llamaBPE:
            pre = .object([("type", .string("Sequence")), ("pretokenizers", .array([
                .object([("type", .string("Split")), ("pattern", .object([("Regex", .string(Self.llama3Pattern))])),
                         ("behavior", .string("Isolated")), ("invert", .bool(false))]), byteLevel(false)]))])
        }
        var post = byteLevel(true)
        if addsBOS, let bosToken {
            let bos = JSONValue.string(tokens[Int(bosToken)])
            post = .object([("type", .string("TemplateProcessing")),
                            ("single", .array([.object([("SpecialToken", .object([("id", bos), ("type_id", .number("0"))]))]),
                                               .object([("Sequence", .object([("id", .string("A")), ("type_id", .number("0"))]))])])),
                            ("pair", .array([])), ("special_tokens", .object([]))])
        }
        var vocab: [(key: String, value: JSONValue)] = []
        var seen = Set<String>()
        for (id, token) in tokens.enumerated() where seen.insert(token).inserted { vocab.append((token, .number(String(id)))) }
        return JSONWriter.string(.object([
            ("version", .string("1.0")), ("added_tokens", .array([])), ("normalizer", .null), ("pre_tokenizer", pre),
            ("post_processor", post), ("decoder", byteLevel(true)),
            ("model", .object([("type", .string("BPE")), ("ignore_merges", .bool(ignoresMerges)), ("vocab", .object(vocab)),
                               ("merges", .array(merges.map { .string($0) }))])),
        ]))
    }

    /// LLaMA 3's split pattern as tokenizer.json spells it.
    static let llama3Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    private static func preTokenizer(_ json: JSONValue?, _ fail: (String) -> CheckpointError) throws -> PreTokenizer {
        func isByteLevel(_ value: JSONValue, usesRegex: Bool) -> Bool {
            guard case .string("ByteLevel")? = value["type"] else { return false }
            if case .bool(true)? = value["add_prefix_space"] { return false }
            if case .bool(let flag)? = value["use_regex"] { return flag == usesRegex }
            return usesRegex
        }
        guard let json else { throw fail("pre_tokenizer is missing") }
        if isByteLevel(json, usesRegex: true) { return .gpt2 }
        if case .string("Sequence")? = json["type"], case .array(let steps)? = json["pretokenizers"], steps.count == 2 {
            if case .string("Digits")? = steps[0]["type"], case .bool(true)? = steps[0]["individual_digits"],
               isByteLevel(steps[1], usesRegex: true) {
                return .smollm
            }
            if case .string("Split")? = steps[0]["type"], case .string(llama3Pattern)? = steps[0]["pattern"]?["Regex"],
               isByteLevel(steps[1], usesRegex: false) {
                return .llamaBPE
            }
        }
        throw fail("pre_tokenizer is not one of the supported ones (ByteLevel: gpt2; Digits + ByteLevel: smollm; LLaMA 3's Split + ByteLevel)")
    }
}
