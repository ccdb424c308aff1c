import Checkpoint
import Foundation
import TestSupport
import XCTest

/// End-to-end tests of the built `mstat` executable.
final class MStatTests: XCTestCase {
    private var dir: URL!
    private var mstat: String!

    override func setUpWithError() throws {
        dir = try TestSupport.temporaryDirectory(self)
        mstat = try TestSupport.tool("mstat")
    }

    private func encoded(_ values: [Float], _ type: TensorType) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: type.byteCount(elements: values.count)!)
        try values.withUnsafeBufferPointer { input in try bytes.withUnsafeMutableBytes { try ElementCodec.encode(input, as: type, into: $0) } }
        return bytes
    }

    /// A small safetensors file: "w" F32 [2, 200] with exponents spread over four values, "b" F32 [4].
    private func makeSafetensors(_ name: String, type: TensorType = .f32, extra: Bool = false) throws -> String {
        let w: [Float] = (0..<400).map { [1, 2, 4, 8][$0 % 4] * ($0 % 3 == 0 ? -1 : 1) }
        var tensors: [(String, TensorType, [Int])] = [("w", type, [2, 200]), ("b", type, [4])]
        var data = try encoded(w, type) + encoded([0.5, 0, -0.25, 3], type)
        if extra { tensors.append(("extra", .f32, [1])); data += try encoded([1], .f32) }
        let header = try SafetensorsHeader.contiguous(tensors.map { ($0.0, $0.1, $0.2) }, metadata: [("source", "test")])
        let path = dir.appendingPathComponent(name).path
        try Data(header.serialized() + data).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testListShowsTotalsMetadataAndTensors() throws {
        let path = try makeSafetensors("m.safetensors")
        let result = try TestSupport.run(mstat, [path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let text = result.stdoutText
        XCTAssertTrue(text.contains("safetensors, 2 tensors, 404 parameters, 1,616 bytes of tensor data"), text)
        XCTAssertTrue(text.contains("source = test"), text)
        XCTAssertTrue(text.contains("w       F32    [2, 200]         400  1,600"), text)
    }

    func testListJSONAndStdin() throws {
        let path = try makeSafetensors("m.safetensors")
        let result = try TestSupport.run(mstat, ["list", "--json", "-"], stdin: try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        XCTAssertEqual(json["file"] as? String, "<stdin>")
        XCTAssertEqual(json["parameters"] as? Int, 404)
        let tensors = try XCTUnwrap(json["tensors"] as? [[String: Any]])
        XCTAssertEqual(tensors.map { $0["name"] as? String }, ["w", "b"])
        XCTAssertEqual(tensors[0]["shape"] as? [Int], [2, 200])
        XCTAssertEqual((json["metadata"] as? [String: Any])?["source"] as? String, "test")
    }

    func testStatsReportsValuesEntropyAndIdealSize() throws {
        let path = try makeSafetensors("m.safetensors")
        let result = try TestSupport.run(mstat, ["stats", "--json", path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let tensors = try XCTUnwrap(json["tensors"] as? [[String: Any]])
        let w = tensors[0]
        XCTAssertEqual(w["min"] as? Double, -8)
        XCTAssertEqual(w["max"] as? Double, 8)
        XCTAssertEqual(try XCTUnwrap(w["exponent_entropy_bits"] as? Double), 2, accuracy: 1e-9, "four equally frequent exponents")
        XCTAssertEqual(try XCTUnwrap(w["ideal_percent"] as? Double), 100 * (32 - 8 + 2) / 32.0, accuracy: 1e-9)
        let b = tensors[1]
        XCTAssertEqual(b["zero"] as? Int, 1)
        XCTAssertEqual(try XCTUnwrap(b["mean"] as? Double), 0.8125, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(b["std"] as? Double), ((0.25 + 0 + 0.0625 + 9) / 4 - 0.8125 * 0.8125).squareRoot(), accuracy: 1e-6)
        let text = try TestSupport.run(mstat, ["stats", path]).stdoutText
        XCTAssertTrue(text.contains("total: 1,616 bytes"), text)
    }

    func testDiffAcrossFormatsAndDtypes() throws {
        let a = try makeSafetensors("a.safetensors")
        // The same tensors as BF16 in a GGUF file: exact for these values, so the error is zero.
        let w: [Float] = (0..<400).map { [1, 2, 4, 8][$0 % 4] * ($0 % 3 == 0 ? -1 : 1) }
        let header = try GGUFHeader.layout(metadata: [], tensors: [("w", .bf16, [2, 200]), ("b", .f32, [4])])
        let ggufPath = dir.appendingPathComponent("b.gguf").path
        let file = try AtomicFile(path: ggufPath, overwrite: false)
        let writer = try CheckpointWriter(gguf: header, to: file, name: ggufPath)
        try encoded(w, .bf16).withUnsafeBytes { try writer.write($0) }
        try encoded([0.5, 0, -0.25, 3.5], .f32).withUnsafeBytes { try writer.write($0) }
        try writer.finish()
        try file.commit()
        let result = try TestSupport.run(mstat, ["diff", "--json", a, ggufPath])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let tensors = try XCTUnwrap(json["tensors"] as? [[String: Any]])
        XCTAssertEqual(tensors[0]["max_abs_error"] as? Double, 0)
        XCTAssertEqual(tensors[0]["cosine"] as? Double, 1)
        XCTAssertEqual(tensors[1]["max_abs_error"] as? Double, 0.5)
        XCTAssertEqual(try XCTUnwrap(tensors[1]["rmse"] as? Double), 0.25, accuracy: 1e-12)
        // A pipe on either side gives the same numbers.
        let piped = try TestSupport.run(mstat, ["diff", "--json", "-", ggufPath], stdin: try Data(contentsOf: URL(fileURLWithPath: a)))
        XCTAssertEqual(piped.status, 0, piped.stderr)
        let pipedJSON = try XCTUnwrap(try JSONSerialization.jsonObject(with: piped.stdout) as? [String: Any])
        XCTAssertEqual((pipedJSON["overall"] as? [String: Any])?["rmse"] as? Double, (json["overall"] as? [String: Any])?["rmse"] as? Double)
    }

    func testDiffRejectsMismatchedNamesAndShapes() throws {
        let a = try makeSafetensors("a.safetensors")
        let b = try makeSafetensors("b.safetensors", extra: true)
        let result = try TestSupport.run(mstat, ["diff", a, b])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasPrefix("mstat: \(a): has no tensor 'extra'"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1)
    }

    func testBadInputIsOneLineAndExitOne() throws {
        let garbage = dir.appendingPathComponent("garbage.bin").path
        try Data("this is not a checkpoint at all".utf8).write(to: URL(fileURLWithPath: garbage))
        for (arguments, fragment) in [([garbage], "unrecognised format"), (["stats", "/nonexistent/x"], "cannot open"),
                                      (["diff", garbage, garbage], "unrecognised format")] {
            let result = try TestSupport.run(mstat, arguments)
            XCTAssertEqual(result.status, 1, "\(arguments)")
            XCTAssertFalse(result.crashed)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.hasPrefix("mstat: "), result.stderr)
            XCTAssertTrue(result.stderr.contains(fragment), result.stderr)
        }
        let truncated = dir.appendingPathComponent("t.safetensors").path
        let whole = try Data(contentsOf: URL(fileURLWithPath: try makeSafetensors("whole.safetensors")))
        try whole.prefix(whole.count - 5).write(to: URL(fileURLWithPath: truncated))
        let result = try TestSupport.run(mstat, ["stats", truncated])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("truncated"), result.stderr)
        let piped = try TestSupport.run(mstat, ["stats", "-"], stdin: whole.prefix(whole.count - 5))
        XCTAssertEqual(piped.status, 1)
        XCTAssertTrue(piped.stderr.hasPrefix("mstat: <stdin>: unexpected end of input"), piped.stderr)
    }

    /// `mstat tokenize` gives llama.cpp's ids for the committed fixture text (SmolLM2's tokenizer).
    func testTokenizeMatchesLlamaCpp() throws {
        let model = try TestSupport.smolLM2()
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../LMTests/Fixtures").standardized
        let expected = try String(contentsOf: fixtures.appendingPathComponent("tokenizer-text.smollm2-ids.txt"), encoding: .utf8)
            .split(separator: "\n").joined(separator: " ")
        let result = try TestSupport.run(mstat, ["tokenize", "--text", fixtures.appendingPathComponent("tokenizer-text.txt").path, model])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), expected)
        let json = try TestSupport.run(mstat, ["tokenize", "--json", model], stdin: Data("Hello world".utf8))
        XCTAssertEqual(json.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), #"{"count":2,"ids":[19556,905]}"#)
        let notGGUF = try TestSupport.run(mstat, ["tokenize", "--text", "/dev/null", try makeSafetensors("m.safetensors")])
        XCTAssertEqual(notGGUF.status, 1)
        XCTAssertTrue(notGGUF.stderr.contains("has no tokenizer: no __metadata__.tokenizer and no "), notGGUF.stderr)
    }

    /// `mstat ppl` end to end on SmolLM2 (its numbers are checked against llama.cpp in LMTests).
    func testPerplexity() throws {
        let model = try TestSupport.smolLM2()
        let text = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../LMTests/Fixtures/tokenizer-text.txt").standardized.path
        let result = try TestSupport.run(mstat, ["ppl", "--json", "--ctx", "64", "--max-windows", "2", "--text", text, model])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        XCTAssertEqual(json["windows"] as? Int, 2)
        XCTAssertEqual(json["scored_tokens"] as? Int, 2 * 31)
        let ppl = try XCTUnwrap(json["ppl"] as? Double)
        XCTAssertTrue(ppl > 1 && ppl < 1000, "\(ppl)")
        let seconds = try XCTUnwrap(json["seconds"] as? [String: Double])
        XCTAssertEqual(Set(seconds.keys), ["matrix_products", "attention", "dequantization", "norms_rope_activation", "scoring_and_rest"])
        XCTAssertGreaterThan(seconds["matrix_products"]!, 0)
        let short = try TestSupport.run(mstat, ["ppl", "--text", "-", model], stdin: Data("too short".utf8))
        XCTAssertEqual(short.status, 1)
        XCTAssertTrue(short.stderr.hasPrefix("mstat: <stdin>: "), short.stderr)
    }

    /// A byte-level model in Hugging Face layout with its configuration in `__metadata__`: random weights
    /// score close to the uniform perplexity 256; without a configuration the error says what is missing.
    func testPerplexityOfAByteLevelSafetensorsModel() throws {
        let dim = 16, ffn = 32, vocab = 256
        var generator = TestSupport.SeededGenerator(seed: 9)
        func tensor(_ name: String, _ shape: [Int], norm: Bool = false) -> FloatTensor {
            FloatTensor(name: name, shape: shape, values: (0..<shape.reduce(1, *)).map { _ in norm ? 1 : Float.random(in: -0.02...0.02, using: &generator) })
        }
        var tensors = [tensor("model.embed_tokens.weight", [vocab, dim]), tensor("model.norm.weight", [dim], norm: true)]
        for (name, shape) in [("input_layernorm", [dim]), ("self_attn.q_proj", [dim, dim]), ("self_attn.k_proj", [dim, dim]),
                              ("self_attn.v_proj", [dim, dim]), ("self_attn.o_proj", [dim, dim]), ("post_attention_layernorm", [dim]),
                              ("mlp.gate_proj", [ffn, dim]), ("mlp.up_proj", [ffn, dim]), ("mlp.down_proj", [dim, ffn])] {
            tensors.append(tensor("model.layers.0.\(name).weight", shape, norm: shape.count == 1))
        }
        let config = #"{"hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2, "num_hidden_layers": 1, "vocab_size": 256}"#
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("bytes.safetensors").path
        let file = try AtomicFile(path: path, overwrite: true)
        try FloatTensor.writeSafetensors(tensors, metadata: [("config", config), ("tokenizer", "byte")], to: file, name: path)
        try file.commit()
        let text = String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 10)
        let result = try TestSupport.run(mstat, ["ppl", "--json", "--ctx", "128", "--text", "-", path], stdin: Data(text.utf8))
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        XCTAssertEqual(json["windows"] as? Int, 3)
        XCTAssertEqual(try XCTUnwrap(json["ppl"] as? Double), 256, accuracy: 5)
        let bare = dir.appendingPathComponent("bare.safetensors").path
        let bareFile = try AtomicFile(path: bare, overwrite: true)
        try FloatTensor.writeSafetensors(tensors, metadata: nil, to: bareFile, name: bare)
        try bareFile.commit()
        let missing = try TestSupport.run(mstat, ["ppl", "--text", "-", bare], stdin: Data(text.utf8))
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "mstat: \(bare): has no model configuration: no __metadata__.config and no \(dir.path)/config.json\n")
    }

    func testUsageErrorsExitTwo() throws {
        let result = try TestSupport.run(mstat, ["diff", "only-one"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.hasPrefix("mstat: "), result.stderr)
        XCTAssertTrue(result.stderr.contains("Usage:"), result.stderr)
        let unknown = try TestSupport.run(mstat, ["--no-such-flag"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertEqual(try TestSupport.run(mstat, ["--help"]).status, 0)
    }
}
