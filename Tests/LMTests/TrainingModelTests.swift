import Checkpoint
import Foundation
import Kernels
import LM
import TestSupport
import XCTest

/// The training engine: its loss against the Double reference, its gradients against finite differences
/// of that reference, and a fresh model's loss near ln(vocab).
final class TrainingModelTests: XCTestCase {
    private func tinyConfig(kvHeads: Int) -> LlamaConfig {
        LlamaConfig(layers: 2, dim: 8, ffn: 12, heads: 2, kvHeads: kvHeads, vocab: 13, ropeBase: 10000, normEpsilon: 1e-5, ropeStyle: .rotateHalf)
    }

    /// Random weights, larger than the 0.02 initialisation so that every path carries signal.
    private func randomTensors(_ config: LlamaConfig, tied: Bool, seed: UInt64) -> [FloatTensor] {
        var generator = TestSupport.SeededGenerator(seed: seed)
        return zip(TrainableModel.canonicalNames(config, tied: tied), TrainableModel.canonicalShapes(config, tied: tied)).map { name, shape in
            let values = (0..<shape.reduce(1, *)).map { _ in Float.random(in: -0.5...0.5, using: &generator) + (shape.count == 1 ? 1 : 0) }
            return FloatTensor(name: name, shape: shape, values: values)
        }
    }

    private let inputs: [[Int32]] = [[1, 5, 2, 12, 7], [0, 3, 3, 9, 4]]
    private let targets: [[Int32]] = [[5, 2, 12, 7, 1], [3, 3, 9, 4, 11]]

    func testGradientsMatchFiniteDifferencesInDouble() throws {
        for (kvHeads, tied) in [(1, false), (2, true)] {
            let config = tinyConfig(kvHeads: kvHeads)
            let tensors = randomTensors(config, tied: tied, seed: UInt64(3 + kvHeads))
            let model = try TrainableModel(config: config, tensors: tensors)
            var gradients: [Int: [Float]] = [:]
            let loss = model.lossAndGradients(inputs: inputs, targets: targets) { index, gradient in
                XCTAssertNil(gradients[index], "tensor \(index) delivered twice")
                gradients[index] = Array(gradient)
            }
            XCTAssertEqual(gradients.count, tensors.count)
            var reference = ReferenceDecoder(config: config, tensors: tensors.map { ($0.name, $0.values) })
            XCTAssertEqual(loss, reference.loss(inputs: inputs, targets: targets), accuracy: 1e-5)
            XCTAssertEqual(model.loss(inputs: inputs, targets: targets), loss, accuracy: 1e-6)
            var generator = TestSupport.SeededGenerator(seed: 11)
            var worst = 0.0
            for (index, tensor) in tensors.enumerated() {
                // Every element of small tensors, a sample of the others.
                let elements = tensor.values.count <= 16 ? Array(0..<tensor.values.count)
                    : (0..<8).map { _ in Int.random(in: 0..<tensor.values.count, using: &generator) }
                for element in elements {
                    let h = 1e-4
                    let original = reference.weights[tensor.name]![element]
                    reference.weights[tensor.name]![element] = original + h
                    let up = reference.loss(inputs: inputs, targets: targets)
                    reference.weights[tensor.name]![element] = original - h
                    let down = reference.loss(inputs: inputs, targets: targets)
                    reference.weights[tensor.name]![element] = original
                    let numeric = (up - down) / (2 * h)
                    let analytic = Double(gradients[index]![element])
                    worst = max(worst, abs(analytic - numeric))
                    XCTAssertEqual(analytic, numeric, accuracy: 1e-5 + 1e-3 * abs(numeric), "\(tensor.name)[\(element)] kv \(kvHeads) tied \(tied)")
                }
            }
            print("largest gradient difference (kv \(kvHeads), tied \(tied)): \(worst)")
        }
    }

    /// Where PyTorch and transformers are installed: the same loss and gradients as LlamaForCausalLM in
    /// float64 on the same weights (written as a Hugging Face folder), tied and untied.
    func testGradientsMatchPyTorch() throws {
        for (kvHeads, tied) in [(1, false), (2, true)] {
            var config = tinyConfig(kvHeads: kvHeads)
            config.vocab = 13
            let tensors = randomTensors(config, tied: tied, seed: UInt64(20 + kvHeads))
            let dir = try TestSupport.temporaryDirectory(self)
            let file = try AtomicFile(path: dir.appendingPathComponent("model.safetensors").path, overwrite: true)
            try FloatTensor.writeSafetensors(tensors, metadata: nil, to: file, name: "model.safetensors")
            try file.commit()
            try config.huggingFaceJSON(tied: tied).write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
            let request = try JSONSerialization.data(withJSONObject: ["inputs": inputs.map { $0.map(Int.init) }, "targets": targets.map { $0.map(Int.init) }])
            let result: TestSupport.ProcessResult
            do {
                result = try TestSupport.pythonScript("torch_gradients.py", [dir.path], modules: ["torch", "transformers"], stdin: request)
            } catch is XCTSkip {
                return print("skipped the PyTorch cross-check: torch and transformers are not installed")
            }
            let reference = try XCTUnwrap(try TestSupport.json(result) as? [String: Any])
            let referenceGradients = try XCTUnwrap(reference["gradients"] as? [String: [Double]])
            let model = try TrainableModel(config: config, tensors: tensors)
            var ours: [Int: [Float]] = [:]
            let loss = model.lossAndGradients(inputs: inputs, targets: targets) { ours[$0] = Array($1) }
            XCTAssertEqual(loss, try XCTUnwrap(reference["loss"] as? Double), accuracy: 1e-5)
            for (index, tensor) in tensors.enumerated() {
                let expected = try XCTUnwrap(referenceGradients[tensor.name], "PyTorch has no parameter \(tensor.name)")
                for (a, b) in zip(ours[index]!, expected) { XCTAssertEqual(Double(a), b, accuracy: 1e-5 + 1e-4 * abs(b), "\(tensor.name) kv \(kvHeads) tied \(tied)") }
            }
        }
    }

    func testGradientScaleScalesEveryGradient() throws {
        let config = tinyConfig(kvHeads: 1)
        let model = try TrainableModel(config: config, tensors: randomTensors(config, tied: false, seed: 2))
        var plain: [Int: [Float]] = [:], scaled: [Int: [Float]] = [:]
        _ = model.lossAndGradients(inputs: inputs, targets: targets) { plain[$0] = Array($1) }
        _ = model.lossAndGradients(inputs: inputs, targets: targets, gradientScale: 0.25) { scaled[$0] = Array($1) }
        for (index, values) in plain {
            for (a, b) in zip(values, scaled[index]!) { XCTAssertEqual(a * 0.25, b, accuracy: 1e-7 + 1e-5 * abs(a)) }
        }
    }

    func testFreshModelLossIsNearLogVocabulary() throws {
        let config = LlamaConfig(layers: 4, dim: 64, ffn: 172, heads: 4, kvHeads: 4, vocab: 256, ropeStyle: .rotateHalf)
        let model = try TrainableModel(config: config, tensors: TrainableModel.initialTensors(config, tied: false, seed: 1))
        var generator = TestSupport.SeededGenerator(seed: 5)
        let batch = (0..<4).map { _ in (0..<33).map { _ in Int32.random(in: 0..<256, using: &generator) } }
        let loss = model.loss(inputs: batch.map { Array($0.dropLast()) }, targets: batch.map { Array($0.dropFirst()) })
        XCTAssertEqual(loss, log(256), accuracy: 0.05)
    }

    /// Two threads (row-split products, parallel attention and elementwise loops) give the same numbers.
    func testThreadsGiveTheSameGradients() throws {
        let config = LlamaConfig(layers: 2, dim: 64, ffn: 176, heads: 4, kvHeads: 2, vocab: 256, ropeStyle: .rotateHalf)
        let tensors = TrainableModel.initialTensors(config, tied: false, seed: 4)
        var generator = TestSupport.SeededGenerator(seed: 6)
        let batch = (0..<4).map { _ in (0..<65).map { _ in Int32.random(in: 0..<256, using: &generator) } }
        var results: [[Float]] = []
        for threads in [1, 2] {
            Gemm.setThreads(threads)
            let model = try TrainableModel(config: config, tensors: tensors)
            var flat: [Float] = []
            let loss = model.lossAndGradients(inputs: batch.map { Array($0.dropLast()) }, targets: batch.map { Array($0.dropFirst()) }) { _, g in flat += g }
            results.append([Float(loss)] + flat)
        }
        Gemm.setThreads(1)
        XCTAssertEqual(results[0].count, results[1].count)
        for (a, b) in zip(results[0], results[1]) { XCTAssertEqual(a, b, accuracy: 1e-6 + 1e-5 * abs(a)) }
    }

    /// NeuZip-compressed weights give bit-identical losses and gradients.
    func testCompressedWeightsGiveIdenticalResults() throws {
        let config = tinyConfig(kvHeads: 2)
        let tensors = randomTensors(config, tied: false, seed: 8)
        var results: [[Float]] = []
        for compress in [false, true] {
            let model = try TrainableModel(config: config, tensors: tensors, compressWeights: compress)
            var flat: [Float] = []
            let loss = model.lossAndGradients(inputs: inputs, targets: targets) { _, g in flat += g }
            results.append([Float(loss)] + flat)
            XCTAssertEqual(model.weights.tensors().map(\.values), tensors.map(\.values))
        }
        XCTAssertEqual(results[0], results[1])
    }
}
