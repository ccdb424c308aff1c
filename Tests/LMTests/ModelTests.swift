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
        var tensors: [(name: String, shape: [Int], values: [Float])] = []
    }

    /// Random weights with llama.cpp's names, written as an F32 GGUF.
    private func makeTiny(kvHeads: Int, tied: Bool, seed: UInt64) throws -> (Tiny, String) {
        let config = LlamaConfig(layers: 2, dim: 16, ffn: 24, heads: 4, kvHeads: kvHeads, vocab: 11, ropeBase: 10000, normEpsilon: 1e-5)
        var generator = TestSupport.SeededGenerator(seed: seed)
        func random(_ count: Int, _ scale: Float) -> [Float] { (0..<count).map { _ in Float.random(in: -scale...scale, using: &generator) } }
        var tiny = Tiny(config: config, tied: tied)
        let kv = kvHeads * config.headDim
        tiny.tensors.append(("token_embd.weight", [config.vocab, config.dim], random(config.vocab * config.dim, 1)))
        for l in 0..<config.layers {
            let p = "blk.\(l)."
            tiny.tensors += [(p + "attn_norm.weight", [config.dim], random(config.dim, 1).map { 1 + $0 / 4 }),
                             (p + "attn_q.weight", [config.dim, config.dim], random(config.dim * config.dim, 0.4)),
                             (p + "attn_k.weight", [kv, config.dim], random(kv * config.dim, 0.4)),
                             (p + "attn_v.weight", [kv, config.dim], random(kv * config.dim, 0.4)),
                             (p + "attn_output.weight", [config.dim, config.dim], random(config.dim * config.dim, 0.4)),
                             (p + "ffn_norm.weight", [config.dim], random(config.dim, 1).map { 1 + $0 / 4 }),
                             (p + "ffn_gate.weight", [config.ffn, config.dim], random(config.ffn * config.dim, 0.4)),
                             (p + "ffn_up.weight", [config.ffn, config.dim], random(config.ffn * config.dim, 0.4)),
                             (p + "ffn_down.weight", [config.dim, config.ffn], random(config.dim * config.ffn, 0.4))]
        }
        tiny.tensors.append(("output_norm.weight", [config.dim], random(config.dim, 1).map { 1 + $0 / 4 }))
        if !tied { tiny.tensors.append(("output.weight", [config.vocab, config.dim], random(config.vocab * config.dim, 1))) }
        let metadata: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .text("llama")), ("llama.block_count", .uint32(2)), ("llama.embedding_length", .uint32(16)),
            ("llama.feed_forward_length", .uint32(24)), ("llama.attention.head_count", .uint32(4)),
            ("llama.attention.head_count_kv", .uint32(UInt32(kvHeads))), ("llama.vocab_size", .uint32(11)),
            ("llama.rope.freq_base", .float32(bits: Float(10000).bitPattern)),
            ("llama.attention.layer_norm_rms_epsilon", .float32(bits: Float(1e-5).bitPattern)),
        ]
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("tiny.gguf").path
        let header = try GGUFHeader.layout(metadata: metadata, tensors: tiny.tensors.map { ($0.name, TensorType.f32, $0.shape) })
        let file = try AtomicFile(path: path, overwrite: true)
        let writer = try CheckpointWriter(gguf: header, to: file, name: path)
        for tensor in tiny.tensors { try tensor.values.withUnsafeBytes { try writer.write($0) } }
        try writer.finish()
        try file.commit()
        return (tiny, path)
    }

    /// The decoder written out naively in Double: the reference.
    private func referenceLogits(_ tiny: Tiny, _ tokens: [Int]) -> [[Double]] {
        let c = tiny.config, hd = c.headDim, T = tokens.count
        func w(_ name: String) -> [Double] { tiny.tensors.first { $0.name == name }!.values.map(Double.init) }
        func linear(_ x: [[Double]], _ m: [Double], out: Int) -> [[Double]] {
            x.map { row in (0..<out).map { o in (0..<row.count).reduce(0.0) { $0 + row[$1] * m[o * row.count + $1] } } }
        }
        func norm(_ x: [[Double]], _ g: [Double]) -> [[Double]] {
            x.map { row in
                let rms = (row.reduce(0.0) { $0 + $1 * $1 } / Double(row.count) + Double(c.normEpsilon)).squareRoot()
                return row.enumerated().map { $0.element / rms * g[$0.offset] }
            }
        }
        func rope(_ x: [[Double]], heads: Int) -> [[Double]] {
            x.enumerated().map { t, row in
                var r = row
                for h in 0..<heads {
                    for i in 0..<(hd / 2) {
                        let angle = Double(t) * pow(Double(c.ropeBase), -Double(2 * i) / Double(hd))
                        let a = row[h * hd + 2 * i], b = row[h * hd + 2 * i + 1]
                        r[h * hd + 2 * i] = a * cos(angle) - b * sin(angle)
                        r[h * hd + 2 * i + 1] = a * sin(angle) + b * cos(angle)
                    }
                }
                return r
            }
        }
        let embedding = w("token_embd.weight")
        var x = tokens.map { Array(embedding[($0 * c.dim)..<(($0 + 1) * c.dim)]) }
        for l in 0..<c.layers {
            let p = "blk.\(l)."
            let h = norm(x, w(p + "attn_norm.weight"))
            let q = rope(linear(h, w(p + "attn_q.weight"), out: c.dim), heads: c.heads)
            let k = rope(linear(h, w(p + "attn_k.weight"), out: c.kvHeads * hd), heads: c.kvHeads)
            let v = linear(h, w(p + "attn_v.weight"), out: c.kvHeads * hd)
            var attention = [[Double]](repeating: [Double](repeating: 0, count: c.dim), count: T)
            for head in 0..<c.heads {
                let g = head / (c.heads / c.kvHeads)
                for t in 0..<T {
                    let scores = (0...t).map { s in (0..<hd).reduce(0.0) { $0 + q[t][head * hd + $1] * k[s][g * hd + $1] } / Double(hd).squareRoot() }
                    let peak = scores.max()!
                    let e = scores.map { exp($0 - peak) }
                    let total = e.reduce(0, +)
                    for d in 0..<hd { attention[t][head * hd + d] = (0...t).reduce(0.0) { $0 + e[$1] / total * v[$1][g * hd + d] } }
                }
            }
            let o = linear(attention, w(p + "attn_output.weight"), out: c.dim)
            x = zip(x, o).map { zip($0, $1).map(+) }
            let h2 = norm(x, w(p + "ffn_norm.weight"))
            let gate = linear(h2, w(p + "ffn_gate.weight"), out: c.ffn), up = linear(h2, w(p + "ffn_up.weight"), out: c.ffn)
            let act = zip(gate, up).map { zip($0, $1).map { $0 / (1 + exp(-$0)) * $1 } }
            let down = linear(act, w(p + "ffn_down.weight"), out: c.dim)
            x = zip(x, down).map { zip($0, $1).map(+) }
        }
        let head = tiny.tied ? w("token_embd.weight") : w("output.weight")
        return linear(norm(x, w("output_norm.weight")), head, out: c.vocab)
    }

    func testMatchesNaiveReferenceForGQAAndMultiHeadTiedAndUntied() throws {
        for (kvHeads, tied) in [(1, true), (2, false), (4, true), (4, false)] {
            let (tiny, path) = try makeTiny(kvHeads: kvHeads, tied: tied, seed: UInt64(kvHeads * 10 + (tied ? 1 : 0)))
            let model = try LlamaModel(try Checkpoint.open(path))
            let tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
            let ours = try model.logits(tokens.map(Int32.init))
            let reference = referenceLogits(tiny, tokens)
            for t in 0..<tokens.count {
                for j in 0..<tiny.config.vocab {
                    XCTAssertEqual(Double(ours[t * tiny.config.vocab + j]), reference[t][j], accuracy: 1e-3, "kv \(kvHeads) tied \(tied) t \(t) j \(j)")
                }
            }
        }
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

    /// llama.cpp's numbers for SmolLM2 on the first 512 tokens of /usr/share/common-licenses/GPL-3 (the
    /// fixture holds the token ids, so the text is not needed): the same top log-probabilities and the same
    /// perplexity within 0.5%.
    func testMatchesLlamaCppOnSmolLM2() throws {
        let path = try TestSupport.smolLM2()
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/smollm2-logits.json")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: fixture)) as? [String: Any])
        let tokens = try XCTUnwrap(json["tokens"] as? [Int]).map(Int32.init)
        let model = try LlamaModel(try Checkpoint.open(path))
        let vocab = model.config.vocab
        let logits = try model.logits(tokens)
        for entry in try XCTUnwrap(json["rows"] as? [[String: Any]]) {
            let position = try XCTUnwrap(entry["position"] as? Int)
            let top = try XCTUnwrap(entry["top"] as? [[Double]])
            // Log-probabilities: llama.cpp multiplies quantised weights by activations it quantises to 8 bits,
            // so single values differ by up to about 0.6 (measured); the perplexity below is the tight check.
            let row = (0..<vocab).map { Double(logits[position * vocab + $0]) }
            let peak = row.max()!
            let logSumExp = peak + log(row.reduce(0.0) { $0 + exp($1 - peak) })
            let referenceLogSumExp = try XCTUnwrap(entry["logsumexp"] as? Double)
            // llama.cpp's most likely token is (one of) ours too: within a near-tie of our best.
            XCTAssertGreaterThan(row[Int(top[0][0])], peak - 0.7, "llama.cpp's top token at \(position) is far from ours")
            for pair in top {
                XCTAssertEqual(row[Int(pair[0])] - logSumExp, pair[1] - referenceLogSumExp, accuracy: 1.0, "log-probability of \(Int(pair[0])) at \(position)")
            }
        }
        var perplexity = Perplexity()
        perplexity.add(window: tokens, logits: logits, vocab: vocab)
        let reference = try XCTUnwrap(json["ppl"] as? Double)
        XCTAssertEqual(perplexity.value, reference, accuracy: reference * 0.005, "ours \(perplexity.value), llama.cpp \(reference)")
    }
}
