import Checkpoint
import Kernels
import LM
@testable import Quantization
import XCTest

final class InvarianceTests: XCTestCase {
    private func ffn(_ x: [Float], gate: [Float], up: [Float], down: [Float], rows: Int, dim: Int, units: Int) -> [Float] {
        var g = [Float](repeating: 0, count: rows * units), u = g, out = [Float](repeating: 0, count: rows * dim)
        Gemm.multiply(x, gate, into: &g, m: rows, n: units, k: dim, transposeB: true)
        Gemm.multiply(x, up, into: &u, m: rows, n: units, k: dim, transposeB: true)
        Layers.swiGLU(&g, u, count: rows * units)
        Gemm.multiply(g, down, into: &out, m: rows, n: dim, k: units, transposeB: true)
        return out
    }

    /// Permutation and scaling leave the FFN's function unchanged (to rounding); the transformed
    /// Hessian is the Hessian of the transformed activations.
    func testPermutationAndScalingAreExact() {
        let dim = 16, units = 24, rows = 40
        var random = GaussianStream(seed: 9)
        let values = { (n: Int) in (0..<n).map { _ in random.next() } }
        let (x, gate, up, down) = (values(rows * dim), values(units * dim), values(units * dim), values(dim * units))
        var transform = FFNTransform(units: units)
        for i in stride(from: units - 1, to: 0, by: -1) { transform.permutation.swapAt(i, Int(random.nextBits() % UInt64(i + 1))) }
        transform.logScale = (0..<units).map { _ in 0.5 * random.next() }
        let t = transform.apply(gate: gate, up: up, down: down, dim: dim)
        let before = ffn(x, gate: gate, up: up, down: down, rows: rows, dim: dim, units: units)
        let after = ffn(x, gate: t.gate, up: t.up, down: t.down, rows: rows, dim: dim, units: units)
        for (a, b) in zip(before, after) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(a))) }

        func activations(_ gate: [Float], _ up: [Float]) -> [Float] {
            var g = [Float](repeating: 0, count: rows * units), u = g
            Gemm.multiply(x, gate, into: &g, m: rows, n: units, k: dim, transposeB: true)
            Gemm.multiply(x, up, into: &u, m: rows, n: units, k: dim, transposeB: true)
            Layers.swiGLU(&g, u, count: rows * units)
            return g
        }
        func hessian(_ a: [Float]) -> [Float] {
            var h = [Float](repeating: 0, count: units * units)
            Gemm.multiply(a, a, into: &h, m: units, n: units, k: rows, transposeA: true)
            return h
        }
        let transformed = transform.apply(hessian: hessian(activations(gate, up)))
        for (a, b) in zip(transformed, hessian(activations(t.gate, t.up))) { XCTAssertEqual(a, b, accuracy: 1e-3 * max(1, abs(b))) }
    }

    /// `originalOrder(down:)` undoes `apply(down:)` (rotations included), and the gradient it maps is
    /// the gradient with respect to the original-order matrix: <mapped gradient, X> = <gradient, apply(down: X)>.
    func testOriginalOrderInvertsTheTransformAndMapsGradientsDually() {
        let dim = 5, units = 12
        var random = GaussianStream(seed: 21)
        var transform = FFNTransform(units: units)
        for i in stride(from: units - 1, to: 0, by: -1) { transform.permutation.swapAt(i, Int(random.nextBits() % UInt64(i + 1))) }
        transform.logScale = (0..<units).map { _ in 0.7 * random.next() }
        transform.angle = (0..<(units / 2)).map { _ in 0.3 * random.next() }
        let down = (0..<(dim * units)).map { _ in random.next() }
        for (a, b) in zip(transform.originalOrder(down: transform.apply(down: down, dim: dim), dim: dim), down) {
            XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b)))
        }
        let gradient = (0..<(dim * units)).map { _ in random.next() }, x = (0..<(dim * units)).map { _ in random.next() }
        let mapped = transform.originalOrder(downGradient: gradient, dim: dim)
        let left = zip(mapped, x).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        let right = zip(gradient, transform.apply(down: x, dim: dim)).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        XCTAssertEqual(left, right, accuracy: 1e-4 * max(1, abs(right)))
        XCTAssertNotEqual(mapped, gradient)
    }

    /// The down projections' gradients of the calibration cross-entropy agree with central finite
    /// differences of the model's loss.
    func testDownProjectionGradientsMatchFiniteDifferences() throws {
        let config = LlamaConfig(layers: 2, dim: 16, ffn: 32, heads: 2, kvHeads: 2, vocab: 32, ropeBase: 10000, normEpsilon: 1e-5,
                                 contextLength: 16, ropeStyle: .rotateHalf)
        let model = try TrainableModel(config: config, tensors: TrainableModel.initialTensors(config, tied: true, seed: 8))
        var generator = GaussianStream(seed: 9)
        let tokens = (0..<200).map { _ in Int32(generator.nextBits() % 32) }
        let calibration = try CalibrationSet(tokens: tokens, windows: 5, length: 12, file: "test")
        let gradients = calibration.downProjectionGradients(of: model, layers: [0, 1], batchSize: 2)
        let loss = { calibration.crossEntropy(of: model, batchSize: 2) }
        for layer in [0, 1] {
            let tensor = TrainableModel.tensorIndex(layer: layer, .down)
            let direction = (0..<(config.dim * config.ffn)).map { _ in generator.next() }
            let step: Float = 1e-2
            func shifted(_ sign: Float) -> Double {
                model.weights.modify(tensor) { w in for i in 0..<w.count { w[i] += sign * step * direction[i] } }
                defer { model.weights.modify(tensor) { w in for i in 0..<w.count { w[i] -= sign * step * direction[i] } } }
                return loss()
            }
            let numeric = (shifted(1) - shifted(-1)) / (2 * Double(step))
            let analytic = zip(gradients[layer]!, direction).reduce(0.0) { $0 + Double($1.0 * $1.1) }
            XCTAssertEqual(analytic, numeric, accuracy: 0.02 * max(abs(numeric), 1e-3), "layer \(layer)")
        }
    }

    /// On a tiny random model: the search only keeps moves that lower the objective, and is
    /// deterministic for a seed.
    func testSearchLowersTheObjectiveDeterministically() throws {
        let config = LlamaConfig(layers: 2, dim: 64, ffn: 128, heads: 2, kvHeads: 2, vocab: 64, ropeBase: 10000, normEpsilon: 1e-5,
                                 contextLength: 64, ropeStyle: .rotateHalf)
        let tensors = TrainableModel.initialTensors(config, tied: true, seed: 3)
        var generator = GaussianStream(seed: 4)
        let tokens = (0..<2000).map { _ in Int32(generator.nextBits() % 64) }
        let calibration = try CalibrationSet(tokens: tokens, windows: 8, length: 32, file: "test")
        func searched(seed: UInt64) throws -> (report: SearchReport, bytes: [[UInt8]]) {
            let model = try TrainableModel(config: config, tensors: tensors)
            let statistics = BlockStatistics.collect(model, calibration: calibration, batchSize: 4)
            let quantizer = ModelQuantizer(config: config, tensors: tensors, target: .groups(bits: 2, groupSize: 32), base: .gptq, statistics: statistics)
            for (index, tensor) in quantizer.evaluationTensors().enumerated() {
                model.weights.modify(index) { buffer in tensor.values.withUnsafeBufferPointer { buffer.baseAddress!.update(from: $0.baseAddress!, count: $0.count) } }
            }
            var settings = SearchSettings()
            (settings.steps, settings.seed, settings.checkEvery) = (24, seed, 6)
            let search = InvarianceSearch(quantizer: quantizer, statistics: statistics, calibration: calibration, model: model, settings: settings, batchSize: 4)
            let report = search.run(log: { _ in }, progress: { _, _ in })
            return (report, quantizer.quantized.map { $0?.bytes ?? [] })
        }
        let first = try searched(seed: 1), again = try searched(seed: 1)
        XCTAssertEqual(first.bytes, again.bytes)
        XCTAssertEqual(first.report.steps, 24)
        XCTAssertGreaterThan(first.report.accepted, 0)
        let start = first.report.crossEntropy0 / first.report.crossEntropy0 + 0.1
        let end = first.report.crossEntropy / first.report.crossEntropy0 + 0.1 * first.report.blockError / first.report.blockError0
        XCTAssertLessThanOrEqual(end, start)
        if first.report.accepted > first.report.reverted { XCTAssertLessThan(first.report.blockError, first.report.blockError0) }
    }
}
