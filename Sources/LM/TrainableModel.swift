import Checkpoint
import Kernels

/// A LLaMA-family decoder being trained: F32 weights in a `ParameterStore` under Hugging Face's names
/// (rotate-half RoPE), a forward pass that keeps what the backward pass needs, and a backward pass that
/// hands each weight's gradient out once, layer by layer from the top, so that the caller (gradient
/// accumulation, compression) decides what to keep. Tensor order: embedding; per block attention
/// norm, q, k, v, o, FFN norm, gate, up, down; final norm; output head unless tied.
public final class TrainableModel {
    public let config: LlamaConfig
    public let weights: ParameterStore
    /// Whether the output head is the token embedding.
    public let tiedOutput: Bool
    private var workspace: TrainingWorkspace?

    /// A model over `tensors` (in `canonicalNames` order); `compressed` holds them NeuZip-compressed.
    public init(config: LlamaConfig, tensors: consuming [FloatTensor], compressWeights: Bool = false) throws {
        var config = config
        config.ropeStyle = .rotateHalf
        let tied = tensors.count == Self.canonicalNames(config, tied: true).count
        let expected = Self.canonicalNames(config, tied: tied)
        guard tensors.map(\.name) == expected else {
            throw CheckpointError(file: "model", "tensors do not follow the model's layout (\(expected.count) expected, \(tensors.count) given)")
        }
        for (tensor, shape) in zip(tensors, Self.canonicalShapes(config, tied: tied)) where tensor.shape != shape {
            throw CheckpointError(file: "model", "tensor '\(tensor.name)' has shape \(tensor.shape), expected \(shape)")
        }
        self.config = config
        tiedOutput = tied
        // A tied embedding stays expanded: every step reads it whole four times (lookup, output head
        // forward and backward, update), and an expanded copy beside its compressed form at the peak costs
        // more than compressing it saves (SmolLM2, Adafactor: peak 1,076 MB plain, 1,125 MB with it
        // compressed, 1,035 MB with only the other tensors compressed).
        weights = ParameterStore(consume tensors) { compressWeights && !(tied && $0 == 0) }
    }

    /// Tensor names in the model's order (Hugging Face naming).
    public static func canonicalNames(_ config: LlamaConfig, tied: Bool) -> [String] {
        let names = LlamaTensorNames.huggingFace
        var out = [names.embedding]
        for layer in 0..<config.layers { out += LlamaTensorNames.LayerWeight.allCases.map { names.name($0, layer: layer) } }
        out.append(names.outputNorm)
        if !tied { out.append(names.output) }
        return out
    }

    /// Tensor shapes in the model's order.
    public static func canonicalShapes(_ config: LlamaConfig, tied: Bool) -> [[Int]] {
        let c = config, kv = c.kvHeads * c.headDim
        var out = [[c.vocab, c.dim]]
        for _ in 0..<c.layers {
            out += [[c.dim], [c.dim, c.dim], [kv, c.dim], [kv, c.dim], [c.dim, c.dim], [c.dim], [c.ffn, c.dim], [c.ffn, c.dim], [c.dim, c.ffn]]
        }
        out.append([c.dim])
        if !tied { out.append([c.vocab, c.dim]) }
        return out
    }

    /// Freshly initialised weights: normal(0, 0.02) for matrices (as transformers initialises LLaMA),
    /// ones for norms; deterministic for a seed.
    public static func initialTensors(_ config: LlamaConfig, tied: Bool, seed: UInt64) -> [FloatTensor] {
        var random = GaussianStream(seed: seed)
        return zip(canonicalNames(config, tied: tied), canonicalShapes(config, tied: tied)).map { name, shape in
            let count = shape.reduce(1, *)
            let values = shape.count == 1 ? [Float](repeating: 1, count: count) : (0..<count).map { _ in 0.02 * random.next() }
            return FloatTensor(name: name, shape: shape, values: values)
        }
    }

    /// The weights of a model checkpoint (any format and tensor type the library reads, GGUF or Hugging
    /// Face names) in the model's order, expanded to F32 and with Q/K rows in rotate-half order.
    public static func tensors(of checkpoint: Checkpoint, config: LlamaConfig) throws -> [FloatTensor] {
        guard let names = LlamaTensorNames.detect(Set(checkpoint.tensors.map(\.name))) else {
            throw CheckpointError(file: checkpoint.name, "has no token embedding: not a LLaMA-family model")
        }
        let tied = checkpoint.index(of: names.output) == nil
        var sources = [names.embedding]
        for layer in 0..<config.layers { sources += LlamaTensorNames.LayerWeight.allCases.map { names.name($0, layer: layer) } }
        sources.append(names.outputNorm)
        if !tied { sources.append(names.output) }
        let shapes = canonicalShapes(config, tied: tied)
        return try zip(zip(sources, canonicalNames(config, tied: tied)), shapes).map { pair, shape in
            let (source, target) = pair
            guard var values = try checkpoint.floats(named: source) else { throw CheckpointError(file: checkpoint.name, "tensor \(source) is missing") }
            guard values.count == shape.reduce(1, *) else {
                throw CheckpointError(file: checkpoint.name, "weight '\(source)' has \(values.count) values, expected shape \(shape)")
            }
            if config.ropeStyle == .adjacentPairs && (target.hasSuffix("q_proj.weight") || target.hasSuffix("k_proj.weight")) {
                values = RopeLayout.adjacentToRotateHalf(values, rows: shape[0], columns: shape[1], headDim: config.headDim)
            }
            return FloatTensor(name: target, shape: shape, values: values)
        }
    }

    /// The position of block `layer`'s `weight` in the model's tensor order.
    public static func tensorIndex(layer: Int, _ weight: LlamaTensorNames.LayerWeight) -> Int {
        1 + layer * LlamaTensorNames.LayerWeight.allCases.count + LlamaTensorNames.LayerWeight.allCases.firstIndex(of: weight)!
    }

    private func index(layer: Int, _ weight: LlamaTensorNames.LayerWeight) -> Int { Self.tensorIndex(layer: layer, weight) }
    private var outputNormIndex: Int { 1 + config.layers * 9 }
    private var outputIndex: Int { tiedOutput ? 0 : outputNormIndex + 1 }

    private func prepareWorkspace(sequences: Int, positions: Int) -> TrainingWorkspace {
        if let workspace, workspace.sequences == sequences, workspace.positions == positions { return workspace }
        workspace = nil
        let made = TrainingWorkspace(config: config, sequences: sequences, positions: positions)
        workspace = made
        return made
    }

    /// Mean cross-entropy of predicting `targets` from `inputs` (sequences of equal length).
    public func loss(inputs: [[Int32]], targets: [[Int32]]) -> Double {
        let w = forward(inputs)
        return LayerGradients.crossEntropy(w.logits, targets: flatten(targets, w), rows: w.rows, vocab: config.vocab)
    }

    /// Forward and backward for one micro-batch: returns the mean cross-entropy and hands `deliver` the
    /// gradient of (loss x `gradientScale`) with respect to each tensor, once each, valid during the call.
    ///
    /// With `curvatureSeed`, first (on the same forward pass) `curvature` receives each tensor's gradient
    /// of the mean cross-entropy against labels sampled from the model's own predictions, times
    /// sqrt(positions), so that its outer product estimates the Gauss-Newton matrix (Ginger's ng).
    public func lossAndGradients(inputs: [[Int32]], targets: [[Int32]], gradientScale: Float = 1,
                                 curvatureSeed: UInt64? = nil, curvature: ((_ tensor: Int, _ gradient: UnsafeMutableBufferPointer<Float>) -> Void)? = nil,
                                 deliver: (_ tensor: Int, _ gradient: UnsafeMutableBufferPointer<Float>) -> Void) -> Double {
        let w = forward(inputs)
        if let curvatureSeed, let curvature {
            let count = w.rows * config.vocab
            let saved = Array(UnsafeBufferPointer(start: w.logits, count: count))
            let sampled = LayerGradients.sampleTargets(w.logits, rows: w.rows, vocab: config.vocab, seed: curvatureSeed)
            _ = sampled.withUnsafeBufferPointer {
                LayerGradients.crossEntropy(w.logits, targets: $0.baseAddress!, rows: w.rows, vocab: config.vocab, gradientScale: Float(w.rows).squareRoot())
            }
            backward(inputs, w, curvature)
            saved.withUnsafeBufferPointer { w.logits.update(from: $0.baseAddress!, count: count) }
        }
        let loss = LayerGradients.crossEntropy(w.logits, targets: flatten(targets, w), rows: w.rows, vocab: config.vocab,
                                               gradientScale: gradientScale)
        backward(inputs, w, deliver)
        return loss
    }

    /// The inputs of one block's linear layers during a forward pass (rows x features, valid during the
    /// call only): what GPTQ's Hessians and a quantizer's cached activations are made of.
    public struct LinearLayerInputs {
        public let rows: Int
        /// Input of q, k and v (the normed residual), of the attention output projection, of gate and
        /// up (the normed residual after attention), and of down (the SwiGLU activation).
        public let attention, attentionOutput, ffn, down: UnsafePointer<Float>
    }

    /// Runs the model on `inputs` and hands `observe` each block's linear-layer inputs in turn.
    public func observeLinearInputs(_ inputs: [[Int32]], _ observe: (_ layer: Int, LinearLayerInputs) -> Void) {
        let w = forward(inputs)
        for (l, a) in w.layers.enumerated() {
            observe(l, LinearLayerInputs(rows: w.rows, attention: a.h1, attentionOutput: a.attention, ffn: a.h2, down: a.activation))
        }
    }

    /// Runs forward and backward on `inputs` and hands `observe` each block's gradient of the mean
    /// cross-entropy with respect to its output (the residual stream after the block, rows x dim, valid
    /// during the call), from the top block down: how much an error in a block's output costs.
    /// Returns the loss.
    public func observeOutputGradients(inputs: [[Int32]], targets: [[Int32]], _ observe: (_ layer: Int, UnsafePointer<Float>) -> Void) -> Double {
        let w = forward(inputs)
        let loss = LayerGradients.crossEntropy(w.logits, targets: flatten(targets, w), rows: w.rows, vocab: config.vocab, gradientScale: 1)
        withoutActuallyEscaping(observe) { observe in backward(inputs, w, outputGradient: observe) { _, _ in } }
        return loss
    }

    /// Releases the forward pass's buffers (they are kept between calls of the same batch shape).
    public func releaseWorkspace() { workspace = nil }

    private func flatten(_ targets: [[Int32]], _ w: TrainingWorkspace) -> UnsafePointer<Int32> {
        precondition(targets.count == w.sequences && targets.allSatisfy { $0.count == w.positions }, "targets must match inputs")
        for (s, row) in targets.enumerated() { for (t, id) in row.enumerated() { w.targets[s * w.positions + t] = id } }
        return UnsafePointer(w.targets)
    }

    /// Runs an operation with one weight of layer `l`, expanded for that operation only.
    private func weightUser(layer l: Int) -> (LlamaTensorNames.LayerWeight, (UnsafeMutablePointer<Float>) -> Void) -> Void {
        { weight, body in self.weights.withValues([self.index(layer: l, weight)]) { body($0[0]) } }
    }

    private func forward(_ inputs: [[Int32]]) -> TrainingWorkspace {
        let B = inputs.count, T = inputs.first?.count ?? 0
        precondition(B > 0 && T > 0 && inputs.allSatisfy { $0.count == T }, "a batch needs sequences of equal, non-zero length")
        let c = config, D = c.dim, KV = c.kvHeads * c.headDim, F = c.ffn, N = B * T
        let w = prepareWorkspace(sequences: B, positions: T)
        weights.withValues([0]) { e in
            for (s, row) in inputs.enumerated() {
                for (t, id) in row.enumerated() {
                    precondition(id >= 0 && Int(id) < c.vocab, "token id \(id) outside the vocabulary")
                    (w.residual[0] + (s * T + t) * D).update(from: e[0] + Int(id) * D, count: D)
                }
            }
        }
        for l in 0..<c.layers {
            let a = w.layers[l]
            // Each weight is expanded only for the operation that reads it (compressed weights: one
            // tensor at a time in memory).
            let use = weightUser(layer: l)
            let xin = w.residual[l]
            use(.attentionNorm) { Layers.rmsNorm(xin, $0, a.h1, rows: N, dim: D, epsilon: c.normEpsilon, inverseRMS: a.inverseRMS1) }
            use(.query) { Gemm.multiply(a.h1, $0, into: a.q, m: N, n: D, k: D, transposeB: true) }
            use(.key) { Gemm.multiply(a.h1, $0, into: a.k, m: N, n: KV, k: D, transposeB: true) }
            use(.value) { Gemm.multiply(a.h1, $0, into: a.v, m: N, n: KV, k: D, transposeB: true) }
            Gemm.parallelSmallProducts(B) { s in
                Layers.rope(a.q + s * T * D, rows: T, heads: c.heads, headDim: c.headDim, base: c.ropeBase, style: .rotateHalf)
                Layers.rope(a.k + s * T * KV, rows: T, heads: c.kvHeads, headDim: c.headDim, base: c.ropeBase, style: .rotateHalf)
                Layers.causalAttention(q: a.q + s * T * D, k: a.k + s * T * KV, v: a.v + s * T * KV, out: a.attention + s * T * D,
                                       positions: T, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim,
                                       probabilities: a.probabilities + s * c.heads * T * T)
            }
            a.middle.update(from: xin, count: N * D)
            use(.attentionOutput) { Gemm.multiply(a.attention, $0, into: a.middle, m: N, n: D, k: D, transposeB: true, beta: 1) }
            use(.ffnNorm) { Layers.rmsNorm(a.middle, $0, a.h2, rows: N, dim: D, epsilon: c.normEpsilon, inverseRMS: a.inverseRMS2) }
            use(.gate) { Gemm.multiply(a.h2, $0, into: a.gate, m: N, n: F, k: D, transposeB: true) }
            use(.up) { Gemm.multiply(a.h2, $0, into: a.up, m: N, n: F, k: D, transposeB: true) }
            a.activation.update(from: a.gate, count: N * F)
            Layers.swiGLU(a.activation, a.up, count: N * F)
            w.residual[l + 1].update(from: a.middle, count: N * D)
            use(.down) { Gemm.multiply(a.activation, $0, into: w.residual[l + 1], m: N, n: D, k: F, transposeB: true, beta: 1) }
        }
        weights.withValues([outputNormIndex, outputIndex]) { p in
            Layers.rmsNorm(w.residual[c.layers], p[0], w.finalNormed, rows: N, dim: D, epsilon: c.normEpsilon, inverseRMS: w.finalInverseRMS)
            Gemm.multiply(w.finalNormed, p[1], into: w.logits, m: N, n: c.vocab, k: D, transposeB: true)
        }
        return w
    }

    private func backward(_ inputs: [[Int32]], _ w: TrainingWorkspace,
                          outputGradient: ((Int, UnsafePointer<Float>) -> Void)? = nil,
                          _ deliver: (Int, UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        let B = w.sequences, T = w.positions
        let c = config, D = c.dim, KV = c.kvHeads * c.headDim, F = c.ffn, N = B * T
        let g = w.gradients
        // Buffers written (=) by their first contribution need no zeroing; the others are zeroed here.
        g.outputNorm.initialize(repeating: 0, count: D)
        w.dResidual.initialize(repeating: 0, count: N * D)
        if !tiedOutput { g.embedding.initialize(repeating: 0, count: c.vocab * D) }
        let dHead = tiedOutput ? g.embedding : g.output
        weights.withValues([outputNormIndex, outputIndex]) { p in
            LayerGradients.linear(w.finalNormed, p[1], dOut: w.logits, dx: w.dFinalNormed, dWeight: dHead, rows: N, inputs: D, outputs: c.vocab,
                                  setsInput: true, setsWeight: true)
            LayerGradients.rmsNorm(w.residual[c.layers], p[0], inverseRMS: w.finalInverseRMS, dOut: w.dFinalNormed, dx: w.dResidual,
                                   dWeight: g.outputNorm, rows: N, dim: D)
        }
        try deliver(outputNormIndex, UnsafeMutableBufferPointer(start: g.outputNorm, count: D))
        if !tiedOutput { try deliver(outputIndex, UnsafeMutableBufferPointer(start: g.output, count: c.vocab * D)) }
        let layerWeights = LlamaTensorNames.LayerWeight.allCases
        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            outputGradient?(l, w.dResidual)
            let a = w.layers[l]
            let d = g.layer, s = w.scratch
            d[0].initialize(repeating: 0, count: D)
            d[5].initialize(repeating: 0, count: D)
            s.dq.initialize(repeating: 0, count: N * D)
            s.dk.initialize(repeating: 0, count: N * KV)
            s.dv.initialize(repeating: 0, count: N * KV)
            let use = weightUser(layer: l)
            // FFN: residual[l+1] = middle + activation Wd^T.
            use(.down) { LayerGradients.linear(a.activation, $0, dOut: w.dResidual, dx: s.dActivation, dWeight: d[8], rows: N, inputs: F, outputs: D,
                                               setsInput: true, setsWeight: true) }
            LayerGradients.swiGLU(gate: a.gate, up: a.up, dOut: s.dActivation, dGate: s.dGate, dUp: s.dUp, count: N * F)
            use(.gate) { LayerGradients.linear(a.h2, $0, dOut: s.dGate, dx: s.dNormed, dWeight: d[6], rows: N, inputs: D, outputs: F,
                                               setsInput: true, setsWeight: true) }
            use(.up) { LayerGradients.linear(a.h2, $0, dOut: s.dUp, dx: s.dNormed, dWeight: d[7], rows: N, inputs: D, outputs: F, setsWeight: true) }
            use(.ffnNorm) { LayerGradients.rmsNorm(a.middle, $0, inverseRMS: a.inverseRMS2, dOut: s.dNormed, dx: w.dResidual, dWeight: d[5], rows: N, dim: D) }
            // Attention: middle = residual[l] + attention Wo^T (dResidual now holds dMiddle).
            use(.attentionOutput) { LayerGradients.linear(a.attention, $0, dOut: w.dResidual, dx: s.dAttention, dWeight: d[4], rows: N, inputs: D, outputs: D,
                                                          setsInput: true, setsWeight: true) }
            Gemm.parallelSmallProducts(B) { b in
                LayerGradients.causalAttention(q: a.q + b * T * D, k: a.k + b * T * KV, v: a.v + b * T * KV,
                                               probabilities: a.probabilities + b * c.heads * T * T, dOut: s.dAttention + b * T * D,
                                               dq: s.dq + b * T * D, dk: s.dk + b * T * KV, dv: s.dv + b * T * KV,
                                               positions: T, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, scratch: s.scores + b * T * T)
                Layers.rope(s.dq + b * T * D, rows: T, heads: c.heads, headDim: c.headDim, base: c.ropeBase, style: .rotateHalf, inverse: true)
                Layers.rope(s.dk + b * T * KV, rows: T, heads: c.kvHeads, headDim: c.headDim, base: c.ropeBase, style: .rotateHalf, inverse: true)
            }
            use(.query) { LayerGradients.linear(a.h1, $0, dOut: s.dq, dx: s.dNormed, dWeight: d[1], rows: N, inputs: D, outputs: D,
                                                setsInput: true, setsWeight: true) }
            use(.key) { LayerGradients.linear(a.h1, $0, dOut: s.dk, dx: s.dNormed, dWeight: d[2], rows: N, inputs: D, outputs: KV, setsWeight: true) }
            use(.value) { LayerGradients.linear(a.h1, $0, dOut: s.dv, dx: s.dNormed, dWeight: d[3], rows: N, inputs: D, outputs: KV, setsWeight: true) }
            use(.attentionNorm) { LayerGradients.rmsNorm(w.residual[l], $0, inverseRMS: a.inverseRMS1, dOut: s.dNormed, dx: w.dResidual, dWeight: d[0], rows: N, dim: D) }
            for (k, weight) in layerWeights.enumerated() {
                try deliver(index(layer: l, weight), UnsafeMutableBufferPointer(start: d[k], count: g.layerCounts[k]))
            }
        }
        for (b, row) in inputs.enumerated() {
            for (t, id) in row.enumerated() {
                let target = g.embedding + Int(id) * D, source = w.dResidual + (b * T + t) * D
                for i in 0..<D { target[i] += source[i] }
            }
        }
        try deliver(0, UnsafeMutableBufferPointer(start: g.embedding, count: c.vocab * D))
    }
}
