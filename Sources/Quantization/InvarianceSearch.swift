import Foundation
import Kernels
import LM

/// The knobs of the InvarExplore search (defaults from the paper's released code where it has them).
public struct SearchSettings: Sendable {
    /// Budget: proposals to make and/or seconds to spend (the first reached stops the search).
    public var steps: Int?
    public var seconds: Double?
    public var seed: UInt64 = 0
    /// Weight of the block-output error in L = CE/CE0 + alpha * MSE/MSE0.
    public var alpha = 0.1
    /// Fraction of a block's hidden units a proposal touches.
    public var swapFraction = 0.1
    /// Standard deviations of the proposals' log-scale and rotation-angle perturbations (0 turns
    /// that move off).
    public var scaleStd: Float = 0.01
    public var rotationStd: Float = 0
    /// Proposals between full cross-entropy checks.
    public var checkEvery = 25

    public init() {}
}

/// What a search did.
public struct SearchReport: Sendable {
    public var steps = 0, accepted = 0, reverted = 0, checks = 0
    /// Calibration cross-entropy and summed block error before and after.
    public var crossEntropy0 = 0.0, crossEntropy = 0.0, blockError0 = 0.0, blockError = 0.0
}

/// InvarExplore's hill climbing over function-preserving FFN transforms on top of a base quantizer.
/// A proposal picks a block at random, cycles the permutation among a random subset of its hidden
/// units and perturbs their log-scales (and rotation angles), rebuilds the block's three matrices
/// from the FULL-PRECISION weights under the new transform, quantizes them with the base quantizer
/// and scores the quantized FFN on cached calibration inputs: its squared error against the
/// full-precision FFN's output. Proposals that lower the block's error are kept. Every `checkEvery`
/// proposals the whole quantized model's calibration cross-entropy is measured, and unless
/// L = CE/CE0 + alpha * MSE/MSE0 fell since the last check, every move since then is undone: so only
/// improvements of L survive, while a proposal costs one block, not one model evaluation.
public final class InvarianceSearch {
    private let quantizer: ModelQuantizer
    private let statistics: [BlockStatistics]
    private let calibration: CalibrationSet
    private let model: TrainableModel
    private let settings: SearchSettings
    private let batchSize: Int
    private var transforms: [FFNTransform]
    /// Per block, the full-precision FFN output on the cached inputs, and the current squared error.
    private var reference: [[Float]] = []
    private var blockError: [Double] = []
    private var random: GaussianStream

    /// `model` must hold `quantizer`'s evaluation tensors; it is kept in step with accepted moves.
    public init(quantizer: ModelQuantizer, statistics: [BlockStatistics], calibration: CalibrationSet, model: TrainableModel,
                settings: SearchSettings, batchSize: Int) {
        self.quantizer = quantizer
        self.statistics = statistics
        self.calibration = calibration
        self.model = model
        self.settings = settings
        self.batchSize = batchSize
        transforms = (0..<quantizer.config.layers).map { _ in FFNTransform(units: quantizer.config.ffn) }
        random = GaussianStream(seed: GaussianStream.mix(settings.seed ^ 0x1A7A_12E7))
        for layer in 0..<quantizer.config.layers {
            let fp = fullPrecisionFFN(layer)
            reference.append(ffnOutput(layer, gate: fp.gate, up: fp.up, down: fp.down))
            let q = [LlamaTensorNames.LayerWeight.gate, .up, .down].map { quantizer.quantized[index(layer, $0)]?.dequantized() ?? fullPrecision(layer, $0) }
            blockError.append(squaredError(ffnOutput(layer, gate: q[0], up: q[1], down: q[2]), reference[layer]))
        }
    }

    private func index(_ layer: Int, _ weight: LlamaTensorNames.LayerWeight) -> Int { TrainableModel.tensorIndex(layer: layer, weight) }
    private func fullPrecision(_ layer: Int, _ weight: LlamaTensorNames.LayerWeight) -> [Float] { quantizer.original[index(layer, weight)].values }
    private func fullPrecisionFFN(_ layer: Int) -> (gate: [Float], up: [Float], down: [Float]) {
        (fullPrecision(layer, .gate), fullPrecision(layer, .up), fullPrecision(layer, .down))
    }

    /// The FFN's output on block `layer`'s cached inputs with the given weights.
    private func ffnOutput(_ layer: Int, gate: [Float], up: [Float], down: [Float]) -> [Float] {
        Self.ffn(statistics[layer].ffnInputs, gate: gate, up: up, down: down, dim: quantizer.config.dim, units: quantizer.config.ffn)
    }

    /// down(silu(gate x) * up x) for the rows of x [N x dim].
    static func ffn(_ x: [Float], gate: [Float], up: [Float], down: [Float], dim D: Int, units F: Int) -> [Float] {
        let N = x.count / D
        var g = [Float](repeating: 0, count: N * F), u = g, out = [Float](repeating: 0, count: N * D)
        Gemm.multiply(x, gate, into: &g, m: N, n: F, k: D, transposeB: true)
        Gemm.multiply(x, up, into: &u, m: N, n: F, k: D, transposeB: true)
        Layers.swiGLU(&g, u, count: N * F)
        Gemm.multiply(g, down, into: &out, m: N, n: D, k: F, transposeB: true)
        return out
    }

    private func squaredError(_ a: [Float], _ b: [Float]) -> Double {
        var total = 0.0
        for i in a.indices { let e = Double(a[i] - b[i]); total += e * e }
        return total / Double(max(a.count, 1))
    }

    /// A proposal: cycle the permutation among a random subset of units and perturb their scales and angles.
    private func propose(_ transform: FFNTransform) -> FFNTransform {
        var next = transform
        let F = transform.units, count = max(2, Int(Double(F) * settings.swapFraction))
        var chosen = Set<Int>()
        while chosen.count < min(count, F) { chosen.insert(Int(random.nextBits() % UInt64(F))) }
        var units = chosen.sorted()
        for k in stride(from: units.count - 1, to: 0, by: -1) { units.swapAt(k, Int(random.nextBits() % UInt64(k + 1))) }
        // Each unit moves on to the next chosen position, taking its scale along.
        for (k, unit) in units.enumerated() {
            let from = units[(k + 1) % units.count]
            next.permutation[unit] = transform.permutation[from]
            next.logScale[unit] = transform.logScale[from] + (settings.scaleStd > 0 ? settings.scaleStd * random.next() : 0)
            if settings.rotationStd > 0 && unit / 2 < next.angle.count { next.angle[unit / 2] += settings.rotationStd * random.next() }
        }
        return next
    }

    /// Block `layer` quantized under `transform`: the three matrices and the block's error.
    private func evaluate(_ layer: Int, _ transform: FFNTransform) -> (matrices: [QuantizedMatrix], error: Double) {
        let fp = fullPrecisionFFN(layer)
        let t = transform.apply(gate: fp.gate, up: fp.up, down: fp.down, dim: quantizer.config.dim)
        let hessians: [[Float]?] = quantizer.base == .gptq ? [statistics[layer].ffn, statistics[layer].ffn, transform.apply(hessian: statistics[layer].down)] : [nil, nil, nil]
        let matrices = zip([LlamaTensorNames.LayerWeight.gate, .up, .down], [t.gate, t.up, t.down]).enumerated().map { k, pair in
            quantizer.quantize(index(layer, pair.0), pair.1, format: quantizer.format(of: index(layer, pair.0))!, hessian: hessians[k])
        }
        let q = matrices.map { $0.dequantized() }
        return (matrices, squaredError(ffnOutput(layer, gate: q[0], up: q[1], down: q[2]), reference[layer]))
    }

    private func install(_ layer: Int, _ matrices: [QuantizedMatrix]) {
        for (weight, matrix) in zip([LlamaTensorNames.LayerWeight.gate, .up, .down], matrices) {
            let i = index(layer, weight)
            quantizer.replace(i, with: matrix)
            let values = matrix.dequantized()
            model.weights.modify(i) { buffer in values.withUnsafeBufferPointer { buffer.baseAddress!.update(from: $0.baseAddress!, count: values.count) } }
        }
    }

    /// Runs the search; `log` receives one JSON object per accepted move and per check, `progress` the
    /// step count and the current objective.
    public func run(log: (String) -> Void, progress: (Int, Double) -> Void) -> SearchReport {
        var report = SearchReport()
        // Only FFNs whose three matrices are quantized can be searched.
        let layers = (0..<quantizer.config.layers).filter { l in [LlamaTensorNames.LayerWeight.gate, .up, .down].allSatisfy { quantizer.quantized[index(l, $0)] != nil } }
        guard !layers.isEmpty else { return report }
        let ce0 = calibration.crossEntropy(of: model, batchSize: batchSize), mse0 = blockError.reduce(0, +)
        (report.crossEntropy0, report.crossEntropy, report.blockError0, report.blockError) = (ce0, ce0, mse0, mse0)
        func objective(_ ce: Double, _ mse: Double) -> Double { ce / ce0 + settings.alpha * mse / max(mse0, 1e-30) }
        var lastObjective = objective(ce0, mse0)
        // Moves since the last check, oldest first, to undo them together.
        var pending: [(layer: Int, transform: FFNTransform, matrices: [QuantizedMatrix], error: Double)] = []
        // Keeps the moves since the last check if they lowered L, undoes them otherwise.
        func check() {
            let ce = calibration.crossEntropy(of: model, batchSize: batchSize), mse = blockError.reduce(0, +)
            let value = objective(ce, mse)
            report.checks += 1
            let kept = value < lastObjective
            log("{\"step\":\(report.steps),\"event\":\"check\",\"ce\":\(ce),\"mse\":\(mse),\"objective\":\(value),\"kept\":\(kept)}")
            if kept {
                lastObjective = value
                (report.crossEntropy, report.blockError) = (ce, mse)
            } else {
                for move in pending.reversed() {
                    transforms[move.layer] = move.transform
                    blockError[move.layer] = move.error
                    install(move.layer, move.matrices)
                }
                report.reverted += pending.count
            }
            pending.removeAll()
        }
        let start = Date()
        while settings.steps.map({ report.steps < $0 }) ?? true, settings.seconds.map({ Date().timeIntervalSince(start) < $0 }) ?? true {
            let layer = layers[Int(random.nextBits() % UInt64(layers.count))]
            let candidate = propose(transforms[layer])
            let (matrices, error) = evaluate(layer, candidate)
            report.steps += 1
            if error < blockError[layer] {
                let previous = [LlamaTensorNames.LayerWeight.gate, .up, .down].map { quantizer.quantized[index(layer, $0)]! }
                pending.append((layer, transforms[layer], previous, blockError[layer]))
                log("{\"step\":\(report.steps),\"event\":\"accept\",\"block\":\(layer),\"block_mse\":\(error),\"previous_mse\":\(blockError[layer])}")
                transforms[layer] = candidate
                blockError[layer] = error
                install(layer, matrices)
                report.accepted += 1
            }
            if !pending.isEmpty && report.steps % settings.checkEvery == 0 { check() }
            progress(report.steps, lastObjective)
        }
        // The budget can end between checks: the last moves are checked too.
        if !pending.isEmpty { check() }
        return report
    }
}
