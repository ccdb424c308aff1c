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

    /// The committed fixture: ids that llama.cpp produced for a text full of edge cases.
    func testMatchesLlamaCppOnTheFixture() throws {
        let (tokenizer, _) = try smolLM2Tokenizer()
        XCTAssertEqual(tokenizer.preTokenizer, .smollm)
        let text = try String(contentsOf: Self.fixtures.appendingPathComponent("tokenizer-text.txt"), encoding: .utf8)
        let expected = try String(contentsOf: Self.fixtures.appendingPathComponent("tokenizer-text.smollm2-ids.txt"), encoding: .utf8)
            .split(separator: "\n").map { Int32($0)! }
        let ids = tokenizer.encode(text)
        if ids != expected {
            let first = zip(ids, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ids.count, expected.count)
            XCTFail("ids differ from llama.cpp's at \(first): ours \(Array(ids[first..<min(ids.count, first + 8)])), llama.cpp \(Array(expected[first..<min(expected.count, first + 8)]))")
        }
        XCTAssertEqual(tokenizer.decode(ids), text)
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
    }
}
