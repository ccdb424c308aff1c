import Foundation
import LM

/// The decoder written out naively in Double over Hugging Face-named tensors (rotate-half RoPE): the
/// reference that the engine's logits and, by finite differences, its gradients are checked against.
struct ReferenceDecoder {
    let config: LlamaConfig
    var weights: [String: [Double]]

    init(config: LlamaConfig, tensors: [(name: String, values: [Float])]) {
        self.config = config
        weights = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.values.map(Double.init)) })
    }

    private func w(_ name: String) -> [Double] { weights[name]! }

    /// Logits [positions][vocab] of one sequence.
    func logits(_ tokens: [Int32]) -> [[Double]] {
        let c = config, hd = c.headDim, T = tokens.count, half = hd / 2
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
                    for i in 0..<half {
                        let angle = Double(t) * pow(Double(c.ropeBase), -Double(2 * i) / Double(hd))
                        let a = row[h * hd + i], b = row[h * hd + i + half]
                        r[h * hd + i] = a * cos(angle) - b * sin(angle)
                        r[h * hd + i + half] = a * sin(angle) + b * cos(angle)
                    }
                }
                return r
            }
        }
        let embedding = w("model.embed_tokens.weight")
        var x = tokens.map { Array(embedding[(Int($0) * c.dim)..<((Int($0) + 1) * c.dim)]) }
        for l in 0..<c.layers {
            let p = "model.layers.\(l)."
            let h = norm(x, w(p + "input_layernorm.weight"))
            let q = rope(linear(h, w(p + "self_attn.q_proj.weight"), out: c.dim), heads: c.heads)
            let k = rope(linear(h, w(p + "self_attn.k_proj.weight"), out: c.kvHeads * hd), heads: c.kvHeads)
            let v = linear(h, w(p + "self_attn.v_proj.weight"), out: c.kvHeads * hd)
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
            let o = linear(attention, w(p + "self_attn.o_proj.weight"), out: c.dim)
            x = zip(x, o).map { zip($0, $1).map(+) }
            let h2 = norm(x, w(p + "post_attention_layernorm.weight"))
            let gate = linear(h2, w(p + "mlp.gate_proj.weight"), out: c.ffn), up = linear(h2, w(p + "mlp.up_proj.weight"), out: c.ffn)
            let act = zip(gate, up).map { zip($0, $1).map { $0 / (1 + exp(-$0)) * $1 } }
            let down = linear(act, w(p + "mlp.down_proj.weight"), out: c.dim)
            x = zip(x, down).map { zip($0, $1).map(+) }
        }
        let head = weights["lm_head.weight"] ?? embedding
        return linear(norm(x, w("model.norm.weight")), head, out: c.vocab)
    }

    /// Mean cross-entropy over every position of every sequence.
    func loss(inputs: [[Int32]], targets: [[Int32]]) -> Double {
        var total = 0.0, count = 0
        for (tokens, next) in zip(inputs, targets) {
            for (row, target) in zip(logits(tokens), next) {
                let peak = row.max()!
                total += peak + log(row.reduce(0.0) { $0 + exp($1 - peak) }) - row[Int(target)]
                count += 1
            }
        }
        return total / Double(count)
    }
}
