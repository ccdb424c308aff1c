import Checkpoint
import Foundation
import LM
import TestSupport
import XCTest

/// Token ids must equal llama.cpp's, and decoding must give back the text.
final class TokenizerTests: XCTestCase {
    private static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    private func smolLM2Tokenizer() throws -> (BPETokenizer, String) {
        let path = try TestSupport.smolLM2()
        let checkpoint = try Checkpoint.open(path)
        return (try BPETokenizer(gguf: try XCTUnwrap(checkpoint.ggufHeader), name: path), path)
    }

    private static var fixtureText: String {
        get throws { try String(contentsOf: fixtures.appendingPathComponent("tokenizer-text.txt"), encoding: .utf8) }
    }

    /// Ids that llama.cpp produced for the fixture text with a pre-tokenizer ("smollm2", "llama-bpe").
    private static func fixtureIDs(_ variant: String) throws -> [Int32] {
        try String(contentsOf: fixtures.appendingPathComponent("tokenizer-text.\(variant)-ids.txt"), encoding: .utf8)
            .split(separator: "\n").map { Int32($0)! }
    }

    private func assertSameIDs(_ ids: [Int32], _ expected: [Int32], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        guard ids != expected else { return }
        let first = zip(ids, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ids.count, expected.count)
        XCTFail("\(label): ids differ at \(first): ours \(Array(ids[first..<min(ids.count, first + 8)])), reference \(Array(expected[first..<min(expected.count, first + 8)]))",
                file: file, line: line)
    }

    /// The committed fixture: ids that llama.cpp produced for a text full of edge cases.
    func testMatchesLlamaCppOnTheFixture() throws {
        let (tokenizer, _) = try smolLM2Tokenizer()
        XCTAssertEqual(tokenizer.preTokenizer, .smollm)
        try assertMatchesFixture(tokenizer, "smollm2")
    }

    /// Ids equal to the fixture's, and decoding gives the text back.
    private func assertMatchesFixture(_ tokenizer: Tokenizer, _ variant: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let text = try Self.fixtureText
        let ids = tokenizer.encode(text)
        assertSameIDs(ids, try Self.fixtureIDs(variant), variant, file: file, line: line)
        XCTAssertEqual(tokenizer.decode(ids), text, file: file, line: line)
    }

    /// A copy of SmolLM2's GGUF tokenizer with `tokenizer.ggml.pre` = llama-bpe (a header-only GGUF),
    /// against the ids llama.cpp gave the same vocabulary with that pre-tokenizer.
    func testLlamaBPEPreTokenizerMatchesLlamaCpp() throws {
        let header = try XCTUnwrap(try Checkpoint.open(try TestSupport.smolLM2()).ggufHeader)
        let metadata = header.metadata.map { $0.key == "tokenizer.ggml.pre" ? (key: $0.key, value: GGUFValue.text("llama-bpe")) : $0 }
        let path = try TestSupport.temporaryDirectory(self).appendingPathComponent("vocab.gguf").path
        let file = try AtomicFile(path: path, overwrite: true)
        try FloatTensor.writeGGUF([], metadata: metadata, to: file, name: path)
        try file.commit()
        let tokenizer = try BPETokenizer(gguf: try XCTUnwrap(try Checkpoint.open(path).ggufHeader), name: path)
        XCTAssertEqual(tokenizer.preTokenizer, .llamaBPE)
        try assertMatchesFixture(tokenizer, "llama-bpe")
    }

    /// SmolLM2's vocabulary written as a Hugging Face tokenizer.json, once with SmolLM's pre-tokenizer
    /// and once with LLaMA 3's: our reader gives llama.cpp's ids, and so does Hugging Face's tokenizers
    /// library on the same file (when installed), which shows that the file says what we think it says.
    func testTokenizerJSONMatchesLlamaCppAndHuggingFace() throws {
        let header = try XCTUnwrap(try Checkpoint.open(try TestSupport.smolLM2()).ggufHeader)
        guard case .array(_, let tokens)? = header["tokenizer.ggml.tokens"], case .array(_, let merges)? = header["tokenizer.ggml.merges"],
              case .array(_, let types)? = header["tokenizer.ggml.token_type"] else { return XCTFail("SmolLM2 has no vocabulary") }
        let added = zip(tokens, types).enumerated().filter { $0.element.1.integerValue == 3 }.map { id, pair -> JSONValue in
            .object([("id", .number(String(id))), ("content", .string(pair.0.stringValue!)), ("single_word", .bool(false)), ("lstrip", .bool(false)),
                     ("rstrip", .bool(false)), ("normalized", .bool(false)), ("special", .bool(true))])
        }
        let byteLevel = { (regex: Bool) -> JSONValue in
            .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(true)), ("use_regex", .bool(regex))])
        }
        let variants: [(name: String, pre: JSONValue, ignoreMerges: Bool)] = [
            ("smollm2", .object([("type", .string("Sequence")), ("pretokenizers", .array([
                .object([("type", .string("Digits")), ("individual_digits", .bool(true))]), byteLevel(true)]))]), false),
            ("llama-bpe", .object([("type", .string("Sequence")), ("pretokenizers", .array([
                .object([("type", .string("Split")), ("pattern", .object([("Regex", .string(#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#))])),
                         ("behavior", .string("Isolated")), ("invert", .bool(false))]), byteLevel(false)]))]), true),
        ]
        let dir = try TestSupport.temporaryDirectory(self)
        let textPath = dir.appendingPathComponent("text.txt")
        try Self.fixtureText.write(to: textPath, atomically: true, encoding: .utf8)
        for variant in variants {
            let json = JSONValue.object([
                ("version", .string("1.0")), ("added_tokens", .array(added)), ("normalizer", .null), ("pre_tokenizer", variant.pre),
                ("post_processor", byteLevel(true)), ("decoder", byteLevel(true)),
                ("model", .object([("type", .string("BPE")), ("dropout", .null), ("unk_token", .null), ("fuse_unk", .bool(false)),
                                   ("byte_fallback", .bool(false)), ("ignore_merges", .bool(variant.ignoreMerges)),
                                   ("vocab", .object(tokens.enumerated().map { ($0.element.stringValue!, .number(String($0.offset))) })),
                                   ("merges", .array(merges.map { .array($0.stringValue!.split(separator: " ").map { .string(String($0)) }) }))])),
            ])
            let path = dir.appendingPathComponent("\(variant.name).tokenizer.json")
            try JSONWriter.string(json).write(to: path, atomically: true, encoding: .utf8)
            let tokenizer = try BPETokenizer(huggingFace: try JSONParser.parse(Array(try Data(contentsOf: path))), name: path.path)
            try assertMatchesFixture(tokenizer, variant.name)
            let expected = try Self.fixtureIDs(variant.name)
            do {
                let result = try TestSupport.pythonScript("hf_tokenize.py", [path.path, textPath.path], modules: ["tokenizers"])
                let reference = try XCTUnwrap(try TestSupport.json(result) as? [Int]).map(Int32.init)
                assertSameIDs(reference, expected, "\(variant.name): Hugging Face tokenizers against llama.cpp")
            } catch is XCTSkip {
                print("skipped the Hugging Face tokenizers cross-check: the Python package tokenizers is not installed")
            }
        }
    }

    /// A tokenizer written as tokenizer.json (how trainers keep it with a model) reads back the same.
    func testWrittenTokenizerJSONReadsBackTheSame() throws {
        let (tokenizer, _) = try smolLM2Tokenizer()
        let json = tokenizer.huggingFaceJSON()
        let back = try BPETokenizer(huggingFace: try JSONParser.parse(Array(json.utf8)), name: "written")
        XCTAssertEqual(back.preTokenizer, .smollm)
        XCTAssertEqual(back.addsBOS, tokenizer.addsBOS)
        try assertMatchesFixture(back, "smollm2")
    }

    func testByteTokenizerRoundTripsBytes() {
        let tokenizer = ByteTokenizer()
        let text = "héllo, 世界 🙂\n"
        let ids = tokenizer.encode(text)
        XCTAssertEqual(ids.count, text.utf8.count)
        XCTAssertEqual(tokenizer.decode(ids), text)
        XCTAssertEqual(tokenizer.pieceText(10), "<0x0A>")
        XCTAssertEqual(tokenizer.pieceText(65), "A")
    }

    /// Several KB of English that every Debian machine has, tokenised live by llama.cpp when
    /// llama-cpp-python is installed.
    func testMatchesLlamaCppLiveOnALicenseText() throws {
        let (tokenizer, model) = try smolLM2Tokenizer()
        let textPath = "/usr/share/common-licenses/GPL-3"
        guard FileManager.default.fileExists(atPath: textPath) else { throw XCTSkip("\(textPath) is not on this machine") }
        let dir = try TestSupport.temporaryDirectory(self)
        let script = Self.fixtures.deletingLastPathComponent().appendingPathComponent("Python/make_tokenizer_fixture.py").path
        let out = dir.appendingPathComponent("ids.txt").path
        try TestSupport.python([script, model, textPath, out], modules: ["llama_cpp"])
        let expected = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map { Int32($0)! }
        let text = try String(contentsOfFile: textPath, encoding: .utf8)
        XCTAssertGreaterThan(expected.count, 5000)
        XCTAssertEqual(tokenizer.encode(text), expected)
    }

    /// decode(encode(text)) == text for arbitrary UTF-8 whose bytes all have tokens (SmolLM2's vocabulary
    /// has none for the control bytes 0x04, 0x06, 0x13, 0x14, 0x16, 0x1D; llama.cpp drops them too).
    func testRoundTripsAnyText() throws {
        let (tokenizer, _) = try smolLM2Tokenizer()
        var generator = TestSupport.SeededGenerator(seed: 21)
        for _ in 0..<200 {
            let scalars = (0..<Int.random(in: 0...40, using: &generator)).compactMap { _ -> Unicode.Scalar? in
                let ranges: [ClosedRange<UInt32>] = [0x20...0x7E, 0x9...0xA, 0xD...0xD, 0xA0...0x2FF, 0x370...0x3FF, 0x4E00...0x4FFF, 0x1F300...0x1F64F]
                return Unicode.Scalar(UInt32.random(in: ranges.randomElement(using: &generator)!, using: &generator))
            }
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars)
            XCTAssertEqual(tokenizer.decode(tokenizer.encode(text)), text)
        }
    }

    func testPreTokenizerSplitsLikeTheGPT2Pattern() {
        let pieces = { (p: PreTokenizer, s: String) in p.split(s).map { String($0) } }
        XCTAssertEqual(pieces(.gpt2, "Hello world's  end\n\n"), ["Hello", " world", "'s", " ", " end", "\n\n"])
        XCTAssertEqual(pieces(.gpt2, "a 123 b"), ["a", " 123", " b"])
        XCTAssertEqual(pieces(.smollm, "a 123 b"), ["a", " ", "1", "2", "3", " b"])
        XCTAssertEqual(pieces(.gpt2, "x   y"), ["x", "  ", " y"])
        XCTAssertEqual(pieces(.gpt2, "!?  "), ["!?", "  "])
        XCTAssertEqual(pieces(.llamaBPE, "I'M 12345 ok!!\r\n\n  x"), ["I", "'M", " ", "123", "45", " ok", "!!\r\n\n", " ", " x"])
    }
}
