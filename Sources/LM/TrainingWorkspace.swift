/// The buffers of one training step for a batch shape: what the forward pass keeps per layer for the
/// backward pass, the backward pass's scratch, and one layer's worth of weight gradients. Allocated
/// once per batch shape and reused, so that a step does not fault in fresh pages.
final class TrainingWorkspace {
    let sequences: Int, positions: Int
    var rows: Int { sequences * positions }

    /// Per layer: inputs and outputs of each operation.
    struct Layer {
        let h1, inverseRMS1, q, k, v, probabilities, attention, middle, h2, inverseRMS2, gate, up, activation: UnsafeMutablePointer<Float>
    }
    /// Gradients flowing through one layer during the backward pass.
    struct Scratch {
        let dActivation, dGate, dUp, dNormed, dAttention, dq, dk, dv, scores: UnsafeMutablePointer<Float>
    }
    /// Weight gradients handed out by the backward pass.
    struct Gradients {
        let embedding, output, outputNorm: UnsafeMutablePointer<Float>
        let layer: [UnsafeMutablePointer<Float>]
        let layerCounts: [Int]
    }

    /// residual[l] is the input of block l; residual[layers] the input of the final norm.
    let residual: [UnsafeMutablePointer<Float>]
    let layers: [Layer]
    let finalNormed, finalInverseRMS, logits, dResidual, dFinalNormed: UnsafeMutablePointer<Float>
    let targets: UnsafeMutablePointer<Int32>
    let scratch: Scratch
    let gradients: Gradients
    private var allocations: [UnsafeMutablePointer<Float>] = []

    init(config c: LlamaConfig, sequences: Int, positions: Int) {
        self.sequences = sequences
        self.positions = positions
        let N = sequences * positions, D = c.dim, KV = c.kvHeads * c.headDim, F = c.ffn
        var made: [UnsafeMutablePointer<Float>] = []
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
            pointer.initialize(repeating: 0, count: max(1, count))
            made.append(pointer)
            return pointer
        }
        residual = (0...c.layers).map { _ in buffer(N * D) }
        layers = (0..<c.layers).map { _ in
            Layer(h1: buffer(N * D), inverseRMS1: buffer(N), q: buffer(N * D), k: buffer(N * KV), v: buffer(N * KV),
                  probabilities: buffer(sequences * c.heads * positions * positions), attention: buffer(N * D), middle: buffer(N * D),
                  h2: buffer(N * D), inverseRMS2: buffer(N), gate: buffer(N * F), up: buffer(N * F), activation: buffer(N * F))
        }
        finalNormed = buffer(N * D)
        finalInverseRMS = buffer(N)
        logits = buffer(N * c.vocab)
        dResidual = buffer(N * D)
        dFinalNormed = buffer(N * D)
        let s = [N * F, N * F, N * F, N * D, N * D, N * D, N * KV, N * KV, sequences * positions * positions].map { buffer($0) }
        scratch = Scratch(dActivation: s[0], dGate: s[1], dUp: s[2], dNormed: s[3], dAttention: s[4], dq: s[5], dk: s[6], dv: s[7], scores: s[8])
        let counts = [D, D * D, KV * D, KV * D, D * D, D, F * D, F * D, D * F]
        gradients = Gradients(embedding: buffer(c.vocab * D), output: buffer(c.vocab * D), outputNorm: buffer(D),
                              layer: counts.map { buffer($0) }, layerCounts: counts)
        targets = UnsafeMutablePointer<Int32>.allocate(capacity: N)
        allocations = made
    }

    deinit {
        for pointer in allocations { pointer.deallocate() }
        targets.deallocate()
    }
}
