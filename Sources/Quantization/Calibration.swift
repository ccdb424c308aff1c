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
}

/// What the calibration pass records per block: the Hessians (sum of x x^T) of each linear layer's
/// inputs, and the FFN's full-precision inputs on the first `cachedRows` tokens for the search.
public struct BlockStatistics: Sendable {
    /// Inputs of q/k/v, of the attention output, of gate/up (dim x dim) and of down (ffn x ffn).
    public var attention, attentionOutput, ffn, down: [Float]
    /// FFN inputs (the normed residual after attention), cachedRows x dim.
    public var ffnInputs: [Float]

    /// Runs the full-precision `model` over `calibration` and collects every block's statistics.
    public static func collect(_ model: TrainableModel, calibration: CalibrationSet, batchSize: Int, cachedRows: Int) -> [BlockStatistics] {
        let c = model.config, D = c.dim, F = c.ffn
        var blocks = (0..<c.layers).map { _ in
            BlockStatistics(attention: [Float](repeating: 0, count: D * D), attentionOutput: [Float](repeating: 0, count: D * D),
                            ffn: [Float](repeating: 0, count: D * D), down: [Float](repeating: 0, count: F * F), ffnInputs: [])
        }
        for start in stride(from: 0, to: calibration.inputs.count, by: batchSize) {
            // (Not `batch(_:)` discarding the targets: Swift 6.3.1's optimiser then frees an uninitialised
            // array copy and crashes.)
            let x = Array(calibration.inputs[start..<min(start + batchSize, calibration.inputs.count)])
            model.observeLinearInputs(x) { layer, inputs in
                var block = blocks[layer]
                for (h, source, n) in [(\BlockStatistics.attention, inputs.attention, D), (\.attentionOutput, inputs.attentionOutput, D),
                                       (\.ffn, inputs.ffn, D), (\.down, inputs.down, F)] {
                    block[keyPath: h].withUnsafeMutableBufferPointer { out in
                        Gemm.multiply(source, source, into: out.baseAddress!, m: n, n: n, k: inputs.rows, transposeA: true, beta: 1)
                    }
                }
                let take = min(inputs.rows, cachedRows - block.ffnInputs.count / D)
                if take > 0 { block.ffnInputs += UnsafeBufferPointer(start: inputs.ffn, count: take * D) }
                blocks[layer] = block
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
