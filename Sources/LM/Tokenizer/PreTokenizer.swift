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

    /// The `tokenizer.ggml.pre` name llama.cpp knows it by.
    public var ggufName: String { self == .gpt2 ? "gpt-2" : rawValue }

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

    /// A hand-written pattern match over one fragment: its code points with their classes, the position
    /// reached, and the pieces cut so far.
    private struct PieceCutter {
        typealias Index = String.UnicodeScalarView.Index
        let scalars: [Unicode.Scalar]
        private let indices: [Index]
        private(set) var pieces: [Range<Index>] = []
        private var start = 0
        private(set) var position = 0

        init(_ view: String.UnicodeScalarView, _ range: Range<Index>) {
            scalars = Array(view[range])
            indices = Array(view[range].indices) + [range.upperBound]
        }

        var isDone: Bool { position >= scalars.count }
        /// The class of the code point at `p`, nil past the end.
        func category(_ p: Int) -> Category? { p < scalars.count ? Category(scalars[p]) : nil }
        func isLineBreak(_ p: Int) -> Bool { p < scalars.count && (scalars[p] == "\r" || scalars[p] == "\n") }
        func scalar(_ p: Int) -> Unicode.Scalar? { p < scalars.count ? scalars[p] : nil }

        /// Ends the current piece before code point `end` and continues from there.
        mutating func cut(at end: Int) {
            if end > start { pieces.append(indices[start]..<indices[end]) }
            start = end
            position = end
        }
    }

    /// The GPT-2 pattern within one fragment (nothing matches across fragment boundaries).
    private static func splitGPT2(_ scalars: String.UnicodeScalarView, _ range: Range<String.UnicodeScalarView.Index>) -> [Range<String.UnicodeScalarView.Index>] {
        var cutter = PieceCutter(scalars, range)
        while !cutter.isDone {
            let pos = cutter.position
            // 's 't 'm 'd 're 've 'll (case-sensitive, as GPT-2)
            if cutter.scalar(pos) == "'", let a = cutter.scalar(pos + 1) {
                if a == "s" || a == "t" || a == "m" || a == "d" { cutter.cut(at: pos + 2); continue }
                if let b = cutter.scalar(pos + 2), (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") {
                    cutter.cut(at: pos + 3)
                    continue
                }
            }
            // An optional leading space, then a run of one class.
            let lead = cutter.scalar(pos) == " " ? 1 : 0
            if let kind = cutter.category(pos + lead), kind != .whitespace {
                var end = pos + lead
                while cutter.category(end) == kind { end += 1 }
                cutter.cut(at: end)
                continue
            }
            cutWhitespace(&cutter, breaksLines: false)
        }
        return cutter.pieces
    }

    /// LLaMA 3's pattern within one fragment, matched by hand like `splitGPT2`.
    private static func splitLlama3(_ scalars: String.UnicodeScalarView, _ range: Range<String.UnicodeScalarView.Index>) -> [Range<String.UnicodeScalarView.Index>] {
        var cutter = PieceCutter(scalars, range)
        func lower(_ p: Int) -> Unicode.Scalar? { cutter.scalar(p).map { $0.properties.lowercaseMapping.unicodeScalars.first ?? $0 } }
        while !cutter.isDone {
            let pos = cutter.position
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if cutter.scalar(pos) == "'", let a = lower(pos + 1) {
                if a == "s" || a == "t" || a == "m" || a == "d" { cutter.cut(at: pos + 2); continue }
                if let b = lower(pos + 2), (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") {
                    cutter.cut(at: pos + 3)
                    continue
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !cutter.isLineBreak(pos) && cutter.category(pos) != .number
                && (cutter.category(pos) == .letter || cutter.category(pos + 1) == .letter) {
                var end = pos + 1
                while cutter.category(end) == .letter { end += 1 }
                cutter.cut(at: end)
                continue
            }
            // \p{N}{1,3}
            if cutter.category(pos) == .number {
                var end = pos
                while end < pos + 3 && cutter.category(end) == .number { end += 1 }
                cutter.cut(at: end)
                continue
            }
            // " ?[^\s\p{L}\p{N}]+[\r\n]*"
            let lead = cutter.scalar(pos) == " " ? 1 : 0
            if cutter.category(pos + lead) == .other {
                var end = pos + lead
                while cutter.category(end) == .other { end += 1 }
                while cutter.isLineBreak(end) { end += 1 }
                cutter.cut(at: end)
                continue
            }
            cutWhitespace(&cutter, breaksLines: true)
        }
        return cutter.pieces
    }

    /// The patterns' whitespace alternatives at the cutter's position: (with `breaksLines`,
    /// `\s*[\r\n]+` first), then `\s+(?!\S)` (a run followed by more text gives up its last
    /// character), then `\s+`; a code point that matches nothing becomes a piece of its own.
    private static func cutWhitespace(_ cutter: inout PieceCutter, breaksLines: Bool) {
        let pos = cutter.position
        var spaces = 0, afterLastBreak = 0
        while cutter.category(pos + spaces) == .whitespace {
            if cutter.isLineBreak(pos + spaces) { afterLastBreak = pos + spaces + 1 }
            spaces += 1
        }
        if breaksLines && afterLastBreak > 0 { return cutter.cut(at: afterLastBreak) }
        if spaces > 1 && pos + spaces < cutter.scalars.count { return cutter.cut(at: pos + spaces - 1) }
        cutter.cut(at: pos + max(spaces, 1))
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
