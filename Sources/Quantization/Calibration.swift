import Checkpoint
import Kernels
import LM

/// Calibration text cut into consecutive windows: next-token inputs and targets.
public struct CalibrationSet: Sendable {
    public let inputs: [[Int32]]
    public let targets: [[Int32]]
    public var tokenCount: Int { inputs.count * (inputs.first?.count ?? 0) }

    /// The first `windows` non-overlapping windows of `length` tokens of `tokens` (fewer if the text is
    /// shorter, but at least one).
    public init(tokens: [Int32], windows: Int, length: Int, file: String) throws {
        let available = (tokens.count - 1) / length
        guard available >= 1, windows >= 1, length >= 2 else {
            throw CheckpointError(file: file, "calibration text has \(tokens.count) tokens, fewer than one window of \(length) + 1")
        }
        let count = min(windows, available)
        inputs = (0..<count).map { Array(tokens[($0 * length)..<($0 * length + length)]) }
        targets = (0..<count).map { Array(tokens[($0 * length + 1)..<($0 * length + length + 1)]) }
    }

    /// Windows `range` as one batch.
    func batch(_ range: Range<Int>) -> (inputs: [[Int32]], targets: [[Int32]]) { (Array(inputs[range]), Array(targets[range])) }

    /// Mean next-token cross-entropy of `model` over all windows, `batchSize` windows at a time.
    public func crossEntropy(of model: TrainableModel, batchSize: Int) -> Double {
        var total = 0.0
        for start in stride(from: 0, to: inputs.count, by: batchSize) {
            let (x, y) = batch(start..<min(start + batchSize, inputs.count))
            total += model.loss(inputs: x, targets: y) * Double(x.count)
        }
        model.releaseWorkspace()
        return total / Double(inputs.count)
    }

    /// The gradient of the mean cross-entropy over all windows with respect to the down projection of
    /// each block in `layers` ([dim x ffn], as the model stores it), by one backward pass a batch.
    public func downProjectionGradients(of model: TrainableModel, layers: [Int], batchSize: Int) -> [Int: [Float]] {
        let layerOfTensor = Dictionary(uniqueKeysWithValues: layers.map { (TrainableModel.tensorIndex(layer: $0, .down), $0) })
        let count = model.config.dim * model.config.ffn
        var gradients = [Int: [Float]]()
        for start in stride(from: 0, to: inputs.count, by: batchSize) {
            let (x, y) = batch(start..<min(start + batchSize, inputs.count))
            _ = model.lossAndGradients(inputs: x, targets: y, gradientScale: Float(x.count) / Float(inputs.count)) { tensor, g in
                guard let layer = layerOfTensor[tensor] else { return }
                gradients[layer, default: [Float](repeating: 0, count: count)].withUnsafeMutableBufferPointer { sum in
                    for i in 0..<count { sum[i] += g[i] }
                }
            }
        }
        model.releaseWorkspace()
        return gradients
    }
}

/// What the calibration pass records per block: the Hessians (sum of x x^T over every calibration
/// token) of each linear layer's inputs, and the Fisher matrix of the block's output (sum of g g^T, g the
/// gradient of the cross-entropy with respect to the block's output), which the search scores with.
public struct BlockStatistics: Sendable {
    /// Inputs of q/k/v, of the attention output, of gate/up (dim x dim) and of down (ffn x ffn).
    public var attention, attentionOutput, ffn, down: [Float]
    /// sum over tokens of g g^T (dim x dim), g the gradient of that token's cross-entropy with respect
    /// to the block's output: to second order an output error e on a token raises its cross-entropy by
    /// about e^T g g^T e / 2, so errors in directions the rest of the model ignores (massive
    /// activations that norms divide away) cost nothing, and errors the output head amplifies cost a lot.
    public var outputFisher: [Float]

    /// Runs the full-precision `model` over `calibration` and collects every block's statistics.
    public static func collect(_ model: TrainableModel, calibration: CalibrationSet, batchSize: Int) -> [BlockStatistics] {
        let c = model.config, D = c.dim, F = c.ffn
        var blocks = (0..<c.layers).map { _ in
            BlockStatistics(attention: [Float](repeating: 0, count: D * D), attentionOutput: [Float](repeating: 0, count: D * D),
                            ffn: [Float](repeating: 0, count: D * D), down: [Float](repeating: 0, count: F * F),
                            outputFisher: [Float](repeating: 0, count: D * D))
        }
        for start in stride(from: 0, to: calibration.inputs.count, by: batchSize) {
            // (Not `batch(_:)` discarding the targets: Swift 6.3.1's optimiser then frees an uninitialised
            // array copy and crashes.)
            let range = start..<min(start + batchSize, calibration.inputs.count)
            let x = Array(calibration.inputs[range])
            model.observeLinearInputs(x) { layer, inputs in
                for (h, source, n) in [(\BlockStatistics.attention, inputs.attention, D), (\.attentionOutput, inputs.attentionOutput, D),
                                       (\.ffn, inputs.ffn, D), (\.down, inputs.down, F)] {
                    blocks[layer][keyPath: h].withUnsafeMutableBufferPointer { out in
                        Gemm.multiply(source, source, into: out.baseAddress!, m: n, n: n, k: inputs.rows, transposeA: true, beta: 1)
                    }
                }
            }
            let rows = x.count * (x.first?.count ?? 0)
            // The gradients are of the batch's mean cross-entropy: times rows, they are per token.
            let perToken = Float(rows) * Float(rows)
            _ = model.observeOutputGradients(inputs: x, targets: Array(calibration.targets[range])) { layer, gradient in
                Gemm.multiply(gradient, gradient, into: &blocks[layer].outputFisher, m: D, n: D, k: rows, transposeA: true, alpha: perToken, beta: 1)
            }
        }
        model.releaseWorkspace()
        return blocks
    }

    /// The Hessian of `weight`'s inputs, nil for tensors outside the blocks' linear layers.
    func hessian(of weight: LlamaTensorNames.LayerWeight) -> [Float]? {
        switch weight {
        case .query, .key, .value: return attention
        case .attentionOutput: return attentionOutput
        case .gate, .up: return ffn
        case .down: return down
        case .attentionNorm, .ffnNorm: return nil
        }
    }
}
