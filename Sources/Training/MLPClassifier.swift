import Checkpoint
import Kernels
import LM

/// A multilayer perceptron classifier, the second model family the optimizers are measured on: ReLU
/// hidden layers, a linear output over the classes, softmax cross-entropy. Tensors `layers.i.weight`
/// [out x in] and `layers.i.bias` [out]; inputs are rows of `sizes[0]` features.
public final class MLPClassifier: TrainableNetwork {
    /// A batch: `rows` rows of features (row-major) and their class labels.
    public struct Batch {
        public var features: [Float]
        public var labels: [Int32]
        public var rows: Int { labels.count }

        public init(features: [Float], labels: [Int32]) {
            self.features = features
            self.labels = labels
        }
    }

    /// Layer widths: features, hidden..., classes.
    public let sizes: [Int]
    public let weights: ParameterStore

    public init(sizes: [Int], tensors: [FloatTensor]) throws {
        guard sizes.count >= 2, sizes.allSatisfy({ $0 > 0 }) else { throw CheckpointError(file: "model", "an MLP needs positive layer widths") }
        let expected = Self.layout(sizes)
        guard tensors.map(\.name) == expected.map(\.name), tensors.map(\.shape) == expected.map(\.shape) else {
            throw CheckpointError(file: "model", "tensors do not match an MLP of widths \(sizes)")
        }
        self.sizes = sizes
        weights = ParameterStore(tensors, compressed: false)
    }

    /// Names and shapes of the tensors, in order.
    public static func layout(_ sizes: [Int]) -> [(name: String, shape: [Int])] {
        var out: [(name: String, shape: [Int])] = []
        for i in 0..<(sizes.count - 1) {
            out.append(("layers.\(i).weight", [sizes[i + 1], sizes[i]]))
            out.append(("layers.\(i).bias", [sizes[i + 1]]))
        }
        return out
    }

    /// He-initialised weights (normal, variance 2 / inputs), zero biases; deterministic for a seed.
    public static func initialTensors(_ sizes: [Int], seed: UInt64) -> [FloatTensor] {
        var random = GaussianStream(seed: seed)
        return layout(sizes).map { name, shape in
            let count = shape.reduce(1, *)
            let scale = shape.count == 2 ? (2 / Float(shape[1])).squareRoot() : 0
            return FloatTensor(name: name, shape: shape, values: (0..<count).map { _ in scale * random.next() })
        }
    }

    /// Activations of each layer (the input first, then each layer's output; ReLU applied to hidden ones).
    private func forward(_ batch: Batch) -> [[Float]] {
        var activations = [batch.features]
        let n = batch.rows
        weights.withValues(Array(0..<weights.count)) { p in
            for layer in 0..<(sizes.count - 1) {
                let (inputs, outputs) = (sizes[layer], sizes[layer + 1])
                var out = [Float](repeating: 0, count: n * outputs)
                for r in 0..<n { for o in 0..<outputs { out[r * outputs + o] = p[2 * layer + 1][o] } }
                activations[layer].withUnsafeBufferPointer { x in
                    Gemm.multiply(x.baseAddress!, p[2 * layer], into: &out, m: n, n: outputs, k: inputs, transposeB: true, beta: 1)
                }
                if layer < sizes.count - 2 { for i in out.indices { out[i] = max(0, out[i]) } }
                activations.append(out)
            }
        }
        return activations
    }

    public func loss(_ batch: Batch) -> Double {
        var logits = forward(batch).last!
        return logits.withUnsafeMutableBufferPointer { l in
            batch.labels.withUnsafeBufferPointer { LayerGradients.crossEntropy(l.baseAddress!, targets: $0.baseAddress!, rows: batch.rows, vocab: sizes.last!) }
        }
    }

    /// Fraction of rows whose largest logit is their label.
    public func accuracy(_ batch: Batch) -> Double {
        let logits = forward(batch).last!, classes = sizes.last!
        var correct = 0
        for r in 0..<batch.rows {
            let row = logits[(r * classes)..<((r + 1) * classes)]
            if row.firstIndex(of: row.max()!)! - r * classes == Int(batch.labels[r]) { correct += 1 }
        }
        return Double(correct) / Double(max(1, batch.rows))
    }

    public func lossAndGradients(_ batch: Batch, gradientScale: Float, curvatureSeed: UInt64?,
                                 curvature: ((Int, UnsafeMutableBufferPointer<Float>) -> Void)?,
                                 deliver: (Int, UnsafeMutableBufferPointer<Float>) -> Void) -> Double {
        let activations = forward(batch)
        let classes = sizes.last!, n = batch.rows
        if let curvatureSeed, let curvature {
            var logits = activations.last!
            let sampled = logits.withUnsafeBufferPointer { LayerGradients.sampleTargets($0.baseAddress!, rows: n, vocab: classes, seed: curvatureSeed) }
            _ = logits.withUnsafeMutableBufferPointer { l in
                sampled.withUnsafeBufferPointer { LayerGradients.crossEntropy(l.baseAddress!, targets: $0.baseAddress!, rows: n, vocab: classes,
                                                                              gradientScale: Float(n).squareRoot()) }
            }
            backward(activations, dLogits: logits, rows: n, deliver: curvature)
        }
        var logits = activations.last!
        let loss = logits.withUnsafeMutableBufferPointer { l in
            batch.labels.withUnsafeBufferPointer { LayerGradients.crossEntropy(l.baseAddress!, targets: $0.baseAddress!, rows: n, vocab: classes,
                                                                               gradientScale: gradientScale) }
        }
        backward(activations, dLogits: logits, rows: n, deliver: deliver)
        return loss
    }

    /// Backpropagates `dLogits` through the layers from the top, handing out each layer's bias and weight
    /// gradients as they are complete.
    private func backward(_ activations: [[Float]], dLogits: [Float], rows n: Int, deliver: (Int, UnsafeMutableBufferPointer<Float>) -> Void) {
        var dOut = dLogits
        weights.withValues(Array(0..<weights.count)) { p in
            for layer in stride(from: sizes.count - 2, through: 0, by: -1) {
                let (inputs, outputs) = (sizes[layer], sizes[layer + 1])
                var dWeight = [Float](repeating: 0, count: outputs * inputs), dBias = [Float](repeating: 0, count: outputs)
                for r in 0..<n { for o in 0..<outputs { dBias[o] += dOut[r * outputs + o] } }
                var dIn = [Float](repeating: 0, count: n * inputs)
                activations[layer].withUnsafeBufferPointer { x in
                    dOut.withUnsafeBufferPointer { dy in
                        dIn.withUnsafeMutableBufferPointer { dx in
                            dWeight.withUnsafeMutableBufferPointer { dw in
                                LayerGradients.linear(x.baseAddress!, p[2 * layer], dOut: dy.baseAddress!, dx: layer > 0 ? dx.baseAddress : nil,
                                                      dWeight: dw.baseAddress!, rows: n, inputs: inputs, outputs: outputs, setsInput: true, setsWeight: true)
                            }
                        }
                    }
                }
                if layer > 0 {
                    // Through the ReLU: zero where the activation was zero.
                    for i in dIn.indices where activations[layer][i] <= 0 { dIn[i] = 0 }
                }
                dBias.withUnsafeMutableBufferPointer { deliver(2 * layer + 1, $0) }
                dWeight.withUnsafeMutableBufferPointer { deliver(2 * layer, $0) }
                dOut = dIn
            }
        }
    }
}
