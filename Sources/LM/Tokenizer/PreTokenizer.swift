/// Splits text into the pieces BPE works on, the way llama.cpp does for byte-level BPE vocabularies.
/// The GPT-2 pattern `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// is matched by hand over Unicode general categories (as llama.cpp does, not with a regex engine);
/// `smollm` first cuts every numeric code point into a piece of its own. `llamaBPE` is LLaMA 3's pattern
/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// `tokenizer.ggml.pre` = "default" or "gpt2".
    case gpt2
    /// `tokenizer.ggml.pre` = "smollm" (also starcoder, refact, command-r, codeshell: same rules).
    case smollm
    /// `tokenizer.ggml.pre` = "llama-bpe" (LLaMA 3; also llama3, llama-v3, falcon3, pixtral).
    case llamaBPE = "llama-bpe"

    /// The pre-tokenizer named by GGUF's `tokenizer.ggml.pre`, or nil for one not implemented.
    public init?(ggufName: String) {
        switch ggufName {
        case "default", "gpt2", "gpt-2": self = .gpt2
        case "smollm", "starcoder", "refact", "command-r", "codeshell": self = .smollm
        case "llama-bpe", "llama3", "llama-v3", "falcon3", "pixtral": self = .llamaBPE
        default: return nil
        }
    }

    /// The pieces of `text`, in order; concatenated they are `text`.
    public func split(_ text: String) -> [Substring.UnicodeScalarView] {
        let scalars = text.unicodeScalars
        var fragments: [Range<String.UnicodeScalarView.Index>] = [scalars.startIndex..<scalars.endIndex]
        if self == .smollm { fragments = fragments.flatMap { Self.splitNumbers(scalars, $0) } }
        let pattern = self == .llamaBPE ? Self.splitLlama3 : Self.splitGPT2
        return fragments.flatMap { pattern(scalars, $0) }.map { scalars[$0] }
    }

    /// Every numeric code point becomes a fragment; the text between them stays whole.
    private static func splitNumbers(_ scalars: String.UnicodeScalarView, _ range: Range<String.UnicodeScalarView.Index>) -> [Range<String.UnicodeScalarView.Index>] {
        var out: [Range<String.UnicodeScalarView.Index>] = []
        var start = range.lowerBound
        var i = range.lowerBound
        while i < range.upperBound {
            let next = scalars.index(after: i)
            if Category(scalars[i]) == .number {
                if start < i { out.append(start..<i) }
                out.append(i..<next)
                start = next
            }
            i = next
        }
        if start < range.upperBound { out.append(start..<range.upperBound) }
        return out
    }

    /// The GPT-2 pattern within one fragment (nothing matches across fragment boundaries).
    private static func splitGPT2(_ scalars: String.UnicodeScalarView, _ range: Range<String.UnicodeScalarView.Index>) -> [Range<String.UnicodeScalarView.Index>] {
        let cpts = Array(scalars[range])
        let indices = Array(scalars[range].indices) + [range.upperBound]
        var out: [Range<String.UnicodeScalarView.Index>] = []
        let n = cpts.count
        func category(_ p: Int) -> Category? { p < n ? Category(cpts[p]) : nil }
        var tokenStart = 0
        var pos = 0
        func emit(_ end: Int) {
            if end > tokenStart { out.append(indices[tokenStart]..<indices[end]) }
            tokenStart = end
            pos = end
        }
        while pos < n {
            let c = cpts[pos]
            // 's 't 'm 'd 're 've 'll (case-sensitive, as GPT-2)
            if c == "'" && pos + 1 < n {
                let a = cpts[pos + 1]
                if a == "s" || a == "t" || a == "m" || a == "d" { emit(pos + 2); continue }
                if pos + 2 < n {
                    let b = cpts[pos + 2]
                    if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { emit(pos + 3); continue }
                }
            }
            // An optional leading space, then a run of one class.
            let lead = c == " " ? 1 : 0
            let kind = lead == 1 ? category(pos + 1) : category(pos)
            if let kind, kind != .whitespace {
                var end = pos + lead
                while let k = category(end), k == kind { end += 1 }
                emit(end)
                continue
            }
            var spaces = 0
            while category(pos + spaces) == .whitespace { spaces += 1 }
            // \s+(?!\S): a run of whitespace followed by more text gives up its last character.
            if spaces > 1 && pos + spaces < n { emit(pos + spaces - 1); continue }
            if spaces > 0 { emit(pos + spaces); continue }
            emit(pos + 1)
        }
        return out
    }

    /// LLaMA 3's pattern within one fragment, matched by hand like `splitGPT2`.
    private static func splitLlama3(_ scalars: String.UnicodeScalarView, _ range: Range<String.UnicodeScalarView.Index>) -> [Range<String.UnicodeScalarView.Index>] {
        let cpts = Array(scalars[range])
        let indices = Array(scalars[range].indices) + [range.upperBound]
        var out: [Range<String.UnicodeScalarView.Index>] = []
        let n = cpts.count
        func category(_ p: Int) -> Category? { p < n ? Category(cpts[p]) : nil }
        func isLineBreak(_ p: Int) -> Bool { p < n && (cpts[p] == "\r" || cpts[p] == "\n") }
        func lower(_ p: Int) -> Unicode.Scalar? { p < n ? (cpts[p].properties.lowercaseMapping.unicodeScalars.first ?? cpts[p]) : nil }
        var tokenStart = 0
        var pos = 0
        func emit(_ end: Int) {
            if end > tokenStart { out.append(indices[tokenStart]..<indices[end]) }
            tokenStart = end
            pos = end
        }
        while pos < n {
            let c = cpts[pos]
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if c == "'", let a = lower(pos + 1) {
                if a == "s" || a == "t" || a == "m" || a == "d" { emit(pos + 2); continue }
                if let b = lower(pos + 2), (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { emit(pos + 3); continue }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !isLineBreak(pos) && category(pos) != .number && (category(pos) == .letter || category(pos + 1) == .letter) {
                var end = pos + 1
                while category(end) == .letter { end += 1 }
                emit(end)
                continue
            }
            // \p{N}{1,3}
            if category(pos) == .number {
                var end = pos
                while end < pos + 3 && category(end) == .number { end += 1 }
                emit(end)
                continue
            }
            // " ?[^\s\p{L}\p{N}]+[\r\n]*"
            let lead = c == " " ? 1 : 0
            if category(pos + lead) == .other {
                var end = pos + lead
                while category(end) == .other { end += 1 }
                while isLineBreak(end) { end += 1 }
                emit(end)
                continue
            }
            var spaces = 0, afterLastBreak = 0
            while category(pos + spaces) == .whitespace {
                if isLineBreak(pos + spaces) { afterLastBreak = pos + spaces + 1 }
                spaces += 1
            }
            // \s*[\r\n]+
            if afterLastBreak > 0 { emit(afterLastBreak); continue }
            // \s+(?!\S), then \s+
            if spaces > 1 && pos + spaces < n { emit(pos + spaces - 1); continue }
            if spaces > 0 { emit(pos + spaces); continue }
            emit(pos + 1)
        }
        return out
    }

    /// The classes the pattern distinguishes.
    enum Category: Equatable {
        case letter, number, whitespace, other

        init(_ scalar: Unicode.Scalar) {
            if scalar.properties.isWhitespace {
                self = .whitespace
                return
            }
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: self = .letter
            case .decimalNumber, .letterNumber, .otherNumber: self = .number
            default: self = .other
            }
        }
    }
}
