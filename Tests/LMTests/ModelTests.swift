import Checkpoint
import Foundation
import LM
import TestSupport
import XCTest

/// The decoder against a naive Double reference on tiny random models (GQA and multi-head attention,
/// tied and untied output heads), and against llama.cpp's own numbers on SmolLM2.
final class ModelTests: XCTestCase {
    private struct Tiny {
        let config: LlamaConfig
        let tied: Bool
        var tensors: [FloatTensor] = []
    }

    /// Random weights with llama.cpp's names (RoPE on adjacent pairs).
    private func makeTiny(kvHeads: Int, tied: Bool, seed: UInt64) -> Tiny {
        let config = LlamaConfig(layers: 2, dim: 16, ffn: 24, heads: 4, kvHeads: kvHeads, vocab: 256, ropeBase: 10000, normEpsilon: 1e-5)
        var generator = TestSupport.SeededGenerator(seed: seed)
        func random(_ count: Int, _ scale: Float) -> [Float] { (0..<count).map { _ in Float.random(in: -scale...scale, using: &generator) } }
        var tiny = Tiny(config: config, tied: tied)
        let kv = kvHeads * config.headDim
        func add(_ name: String, _ shape: [Int], _ scale: Float) {
            let values = random(shape.reduce(1, *), scale)
            tiny.tensors.append(FloatTensor(name: name, shape: shape, values: shape.count == 1 ? values.map { 1 + $0 / 4 } : values))
        }
        add("token_embd.weight", [config.vocab, config.dim], 1)
        for l in 0..<config.layers {
            let p = "blk.\(l)."
            add(p + "attn_norm.weight", [config.dim], 1)
            add(p + "attn_q.weight", [config.dim, config.dim], 0.4)
            add(p + "attn_k.weight", [kv, config.dim], 0.4)
            add(p + "attn_v.weight", [kv, config.dim], 0.4)
            add(p + "attn_output.weight", [config.dim, config.dim], 0.4)
            add(p + "ffn_norm.weight", [config.dim], 1)
            add(p + "ffn_gate.weight", [config.ffn, config.dim], 0.4)
            add(p + "ffn_up.weight", [config.ffn, config.dim], 0.4)
            add(p + "ffn_down.weight", [config.dim, config.ffn], 0.4)
        }
        add("output_norm.weight", [config.dim], 1)
        if !tied { add("output.weight", [config.vocab, config.dim], 1) }
        return tiny
    }

    /// The tiny model as an F32 GGUF with its configuration in the metadata.
    private func writeGGUF(_ tiny: Tiny) throws -> String {
        let c = tiny.config
        let metadata: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .text("llama")), ("llama.block_count", .uint32(UInt32(c.layers))),
            ("llama.embedding_length", .uint32(UInt32(c.dim))), ("llama.feed_forward_length", .uint32(UInt32(c.ffn))),
            ("llama.attention.head_count", .uint32(UInt32(c.heads))), ("llama.attention.head_count_kv", .uint32(UInt32(c.kvHeads))),
            ("llama.vocab_size", .uint32(UInt32(c.vocab))), ("llama.rope.freq_base", .float32(bits: c.ropeBase.bitPattern)),
            ("llama.attention.layer_norm_rms_epsilon", .float32(bits: c.normEpsilon.bitPattern)),
        ]
        let path = try TestSupport.temporaryDirectory(self).appendingPathComponent("tiny.gguf").path
        let file = try AtomicFile(path: path, overwrite: true)
        try FloatTensor.writeGGUF(tiny.tensors, metadata: metadata, to: file, name: path)
        try file.commit()
        return path
    }

    /// The tiny model's tensors under transformers' names, Q/K rows reordered for rotate-half RoPE (HF row
    /// h*hd + j*hd/2 + i is GGUF row h*hd + 2i + j; the inverse of llama.cpp's conversion), written out
    /// here independently of `RopeLayout`.
    private func huggingFaceTensors(_ tiny: Tiny) -> [FloatTensor] {
        let c = tiny.config, hd = c.headDim
        let names: [String: String] = ["token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head",
                                       "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
                                       "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
                                       "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"]
        return tiny.tensors.map { tensor -> FloatTensor in
            let parts = tensor.name.split(separator: ".").map(String.init)
            guard parts[0] == "blk" else { return FloatTensor(name: names[parts[0]]! + ".weight", shape: tensor.shape, values: tensor.values) }
            var values = tensor.values
            if parts[2] == "attn_q" || parts[2] == "attn_k" {
                let columns = tensor.shape[1]
                for head in 0..<(tensor.shape[0] / hd) {
                    for j in 0..<2 {
                        for i in 0..<(hd / 2) {
                            let hf = head * hd + j * hd / 2 + i, gguf = head * hd + 2 * i + j
                            for col in 0..<columns { values[hf * columns + col] = tensor.values[gguf * columns + col] }
                        }
                    }
                }
            }
            return FloatTensor(name: "model.layers.\(parts[1]).\(names[parts[2]]!).weight", shape: tensor.shape, values: values)
        }
    }

    /// The tiny model the way Hugging Face stores it, as F32 safetensors; the configuration in config.json
    /// beside it or, with `configInMetadata`, in `__metadata__`. A byte tokenizer is declared in the metadata.
    private func writeHuggingFace(_ tiny: Tiny, configInMetadata: Bool) throws -> String {
        let c = tiny.config
        let tensors = huggingFaceTensors(tiny)
        let config = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": \(c.dim), "intermediate_size": \(c.ffn),
             "num_attention_heads": \(c.heads), "num_key_value_heads": \(c.kvHeads), "num_hidden_layers": \(c.layers),
             "vocab_size": \(c.vocab), "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": \(tiny.tied),
             "rope_scaling": null}
            """
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("model.safetensors").path
        var metadata = [(key: "tokenizer", value: "byte")]
        if configInMetadata {
            metadata.append((key: "config", value: config))
        } else {
            try config.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        }
        let file = try AtomicFile(path: path, overwrite: true)
        try FloatTensor.writeSafetensors(tensors, metadata: metadata, to: file, name: path)
        try file.commit()
        return path
    }

    private func assertMatchesReference(_ model: LlamaModel, _ tiny: Tiny, _ label: String) throws {
        let tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
        let ours = try model.logits(tokens.map(Int32.init))
        let reference = ReferenceDecoder(config: tiny.config, tensors: huggingFaceTensors(tiny).map { ($0.name, $0.values) })
            .logits(tokens.map(Int32.init))
        for t in 0..<tokens.count {
            for j in 0..<tiny.config.vocab {
                XCTAssertEqual(Double(ours[t * tiny.config.vocab + j]), reference[t][j], accuracy: 1e-3, "\(label) t \(t) j \(j)")
            }
        }
    }

    func testMatchesNaiveReferenceForGQAAndMultiHeadTiedAndUntied() throws {
        for (kvHeads, tied) in [(1, true), (2, false), (4, true), (4, false)] {
            let tiny = makeTiny(kvHeads: kvHeads, tied: tied, seed: UInt64(kvHeads * 10 + (tied ? 1 : 0)))
            let model = try LlamaModel(try Checkpoint.open(try writeGGUF(tiny)))
            XCTAssertEqual(model.config, tiny.config)
            try assertMatchesReference(model, tiny, "GGUF kv \(kvHeads) tied \(tied)")
        }
    }

    /// Hugging Face names with rotate-half RoPE give the same function as GGUF's adjacent pairs, with
    /// the configuration from config.json or from `__metadata__`.
    func testHuggingFaceCheckpointsMatchTheReference() throws {
        for (kvHeads, tied, inMetadata) in [(2, false, false), (4, true, true)] {
            let tiny = makeTiny(kvHeads: kvHeads, tied: tied, seed: 7 + UInt64(kvHeads))
            let files = try ModelFiles.open(try writeHuggingFace(tiny, configInMetadata: inMetadata))
            XCTAssertEqual(files.config.ropeStyle, .rotateHalf)
            XCTAssertTrue(files.tokenizer is ByteTokenizer)
            let model = try files.model()
            XCTAssertEqual(model.names, .huggingFace)
            try assertMatchesReference(model, tiny, "HF kv \(kvHeads) tied \(tied)")
        }
    }

    /// A batch gives each sequence the logits it gets alone, and only the rows asked for.
    func testBatchForwardEqualsOneSequenceAtATime() throws {
        let tiny = makeTiny(kvHeads: 2, tied: false, seed: 5)
        let model = try LlamaModel(try Checkpoint.open(try writeGGUF(tiny)))
        let batch: [[Int32]] = [[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1], [0, 0, 7, 7, 10, 10]]
        var seen = 0
        try model.forward(batch, logitsFrom: 2) { n, logits in
            let alone = try! model.logits(batch[n])
            XCTAssertEqual(Array(logits), Array(alone[(2 * 256)...]))
            seen += 1
        }
        XCTAssertEqual(seen, 3)
        XCTAssertGreaterThan(model.profile.matrixProducts, 0)
    }

    /// Attention in blocks of query rows (more than one block here) against the formula in Double.
    func testCausalAttentionAcrossBlocksAgainstNaiveAttention() {
        let T = 300, heads = 4, kvHeads = 2, hd = 8
        var generator = TestSupport.SeededGenerator(seed: 3)
        func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: -1...1, using: &generator) } }
        let q = random(T * heads * hd), k = random(T * kvHeads * hd), v = random(T * kvHeads * hd)
        var out = [Float](repeating: 0, count: T * heads * hd)
        var scratch = [Float](repeating: 0, count: Layers.attentionScratchCount(positions: T))
        Layers.causalAttention(q: q, k: k, v: v, out: &out, positions: T, heads: heads, kvHeads: kvHeads, headDim: hd, scratch: &scratch)
        for (t, head) in [(0, 0), (127, 1), (128, 2), (200, 3), (299, 0)] {
            let g = head / 2
            let scores = (0...t).map { s in (0..<hd).reduce(0.0) { $0 + Double(q[(t * heads + head) * hd + $1]) * Double(k[(s * kvHeads + g) * hd + $1]) } / Double(hd).squareRoot() }
            let peak = scores.max()!
            let weights = scores.map { exp($0 - peak) }
            let total = weights.reduce(0, +)
            for d in 0..<hd {
                let expected = (0...t).reduce(0.0) { $0 + weights[$1] / total * Double(v[($1 * kvHeads + g) * hd + d]) }
                XCTAssertEqual(Double(out[(t * heads + head) * hd + d]), expected, accuracy: 1e-5, "t \(t) head \(head) d \(d)")
            }
        }
    }

    /// Rotate-half RoPE pairs element i with i + headDim/2.
    func testRotateHalfRope() {
        var x: [Float] = [1, 2, 3, 4]
        Layers.rope(&x, rows: 1, heads: 1, headDim: 4, base: 100, style: .rotateHalf, firstPosition: 2)
        let a0 = 2.0, a1 = 2.0 * pow(100, -0.5)
        XCTAssertEqual(x[0], Float(1 * cos(a0) - 3 * sin(a0)), accuracy: 1e-5)
        XCTAssertEqual(x[2], Float(1 * sin(a0) + 3 * cos(a0)), accuracy: 1e-5)
        XCTAssertEqual(x[1], Float(2 * cos(a1) - 4 * sin(a1)), accuracy: 1e-5)
        XCTAssertEqual(x[3], Float(2 * sin(a1) + 4 * cos(a1)), accuracy: 1e-5)
    }

    func testLayerFunctionsAgainstScalarFormulas() {
        var x: [Float] = [1, -2, 3, 0.5, 0, 4]
        var out = [Float](repeating: 0, count: 6)
        Layers.rmsNorm(x, [1, 2, 3], &out, rows: 2, dim: 3, epsilon: 0)
        let rms0 = Float((1 + 4 + 9) / 3.0).squareRoot()
        XCTAssertEqual(out[1], -2 / rms0 * 2, accuracy: 1e-6)
        var scores: [Float] = [1, 99, 99, 2, 3, 99]
        Layers.causalSoftmax(&scores, rows: 2, columns: 3)
        XCTAssertEqual(scores[0], 1)
        XCTAssertEqual(scores[1], 0)
        XCTAssertEqual(scores[3], Float(exp(-1.0) / (1 + exp(-1.0))), accuracy: 1e-6)
        XCTAssertEqual(scores[5], 0)
        Layers.rope(&x, rows: 1, heads: 1, headDim: 6, base: 10000, firstPosition: 1)
        XCTAssertEqual(x[0], Float(cos(1.0) - (-2) * sin(1.0)), accuracy: 1e-5)
        XCTAssertEqual(x[1], Float(sin(1.0) + (-2) * cos(1.0)), accuracy: 1e-5)
        var gate: [Float] = [0, 1, -1]
        Layers.swiGLU(&gate, [2, 2, 2], count: 3)
        XCTAssertEqual(gate[1], Float(2 / (1 + exp(-1.0))), accuracy: 1e-6)
    }

    private static let smolLM2Fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/smollm2-logits.json")

    /// Compares logits of `tokens` with a reference's JSON (make_model_fixture.py's layout): each listed
    /// row's top log-probabilities within `logProbability`, the reference's best token within a near-tie
    /// of ours, and the second half's perplexity within `relativePerplexity`.
    private func assertMatches(_ reference: [String: Any], logits: [Float], tokens: [Int32], vocab: Int,
                               logProbability: Double, nearTie: Double, relativePerplexity: Double, _ label: String) throws {
        for entry in try XCTUnwrap(reference["rows"] as? [[String: Any]]) {
            let position = try XCTUnwrap(entry["position"] as? Int)
            let top = try XCTUnwrap(entry["top"] as? [[Double]])
            let row = (0..<vocab).map { Double(logits[position * vocab + $0]) }
            let peak = row.max()!
            let logSumExp = peak + log(row.reduce(0.0) { $0 + exp($1 - peak) })
            let referenceLogSumExp = try XCTUnwrap(entry["logsumexp"] as? Double)
            XCTAssertGreaterThan(row[Int(top[0][0])], peak - nearTie, "\(label): the reference's top token at \(position) is far from ours")
            for pair in top {
                XCTAssertEqual(row[Int(pair[0])] - logSumExp, pair[1] - referenceLogSumExp, accuracy: logProbability,
                               "\(label): log-probability of \(Int(pair[0])) at \(position)")
            }
        }
        var perplexity = Perplexity()
        let first = Perplexity.firstScored(count: tokens.count)
        logits[(first * vocab)...].withUnsafeBufferPointer { perplexity.add(window: tokens, logits: $0, vocab: vocab) }
        let expected = try XCTUnwrap(reference["ppl"] as? Double)
        XCTAssertEqual(perplexity.value, expected, accuracy: expected * relativePerplexity, "\(label): ours \(perplexity.value), reference \(expected)")
    }

    /// llama.cpp's numbers for SmolLM2 on the first 512 tokens of /usr/share/common-licenses/GPL-3 (the
    /// fixture holds the token ids, so the text is not needed): the same top log-probabilities and the same
    /// perplexity within 0.5%. Log-probabilities: llama.cpp multiplies quantised weights by activations it
    /// quantises to 8 bits, so single values differ by up to about 0.6 (measured); perplexity is the tight check.
    func testMatchesLlamaCppOnSmolLM2() throws {
        let path = try TestSupport.smolLM2()
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.smolLM2Fixture)) as? [String: Any])
        let tokens = try XCTUnwrap(json["tokens"] as? [Int]).map(Int32.init)
        let model = try LlamaModel(try Checkpoint.open(path))
        try assertMatches(json, logits: try model.logits(tokens), tokens: tokens, vocab: model.config.vocab,
                          logProbability: 1.0, nearTie: 0.7, relativePerplexity: 0.005, "llama.cpp")
    }

    /// SmolLM2 converted by gguf-py to a Hugging Face checkpoint (F32, transformers' names, rotate-half
    /// Q/K rows, config.json): the same numbers as llama.cpp through our Hugging Face path, and, where
    /// transformers and PyTorch are installed, the same logits as transformers itself on that checkpoint.
    func testHuggingFaceSmolLM2MatchesLlamaCppAndTransformers() throws {
        let gguf = try TestSupport.smolLM2()
        let dir = try TestSupport.temporaryDirectory(self).path
        try TestSupport.pythonScript("gguf_to_hf.py", [gguf, dir], modules: ["gguf", "safetensors", "numpy"])
        let configFile = dir + "/config.json"
        let config = try LlamaConfig(huggingFace: try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: configFile)))), name: configFile)
        let model = try LlamaModel(try Checkpoint.open(dir + "/model.safetensors"), config: config)
        XCTAssertEqual(model.names, .huggingFace)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.smolLM2Fixture)) as? [String: Any])
        let tokens = try XCTUnwrap(json["tokens"] as? [Int]).map(Int32.init)
        let logits = try model.logits(tokens)
        try assertMatches(json, logits: logits, tokens: tokens, vocab: config.vocab,
                          logProbability: 1.0, nearTie: 0.7, relativePerplexity: 0.005, "llama.cpp")
        let result: TestSupport.ProcessResult
        do {
            result = try TestSupport.pythonScript("transformers_logits.py", [dir], modules: ["torch", "transformers"],
                                                  stdin: try JSONSerialization.data(withJSONObject: tokens.map(Int.init)))
        } catch is XCTSkip {
            return print("skipped the transformers cross-check: PyTorch and transformers are not installed")
        }
        let reference = try XCTUnwrap(try TestSupport.json(result) as? [String: Any])
        try assertMatches(reference, logits: logits, tokens: tokens, vocab: config.vocab,
                          logProbability: 2e-3, nearTie: 1e-3, relativePerplexity: 1e-4, "transformers")
    }
}
