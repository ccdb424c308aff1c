import Checkpoint
import Foundation
import Kernels
import Optimizers
import TestSupport
import Training
import XCTest

/// The MLP classifier's gradients, the sampled-label curvature estimate (test 4 of notes/ginger.md),
/// and the CSV reader.
final class ClassifierTests: XCTestCase {
    private func batch(rows: Int, features: Int, classes: Int, seed: UInt64) -> MLPClassifier.Batch {
        var stream = GaussianStream(seed: seed)
        return MLPClassifier.Batch(features: (0..<(rows * features)).map { _ in stream.next() },
                                   labels: (0..<rows).map { _ in Int32(stream.nextBits() % UInt64(classes)) })
    }

    func testGradientsMatchFiniteDifferences() throws {
        let sizes = [5, 7, 6, 3]
        let tensors = MLPClassifier.initialTensors(sizes, seed: 2).map { t in
            FloatTensor(name: t.name, shape: t.shape, values: t.values.enumerated().map { $0.element + (t.shape.count == 1 ? 0.1 * Float($0.offset % 3) : 0) })
        }
        let model = try MLPClassifier(sizes: sizes, tensors: tensors)
        let data = batch(rows: 9, features: 5, classes: 3, seed: 4)
        var gradients: [Int: [Float]] = [:]
        let loss = model.lossAndGradients(data, gradientScale: 1, curvatureSeed: nil, curvature: nil) { gradients[$0] = Array($1) }
        XCTAssertEqual(loss, model.loss(data), accuracy: 1e-6)
        XCTAssertEqual(gradients.count, tensors.count)
        for index in tensors.indices {
            for element in stride(from: 0, to: tensors[index].values.count, by: 3) {
                let h: Float = 1e-3
                var values = model.weights.tensors()[index].values
                func lossWith(_ delta: Float) throws -> Double {
                    var changed = values
                    changed[element] += delta
                    var all = model.weights.tensors()
                    all[index] = FloatTensor(name: all[index].name, shape: all[index].shape, values: changed)
                    return try MLPClassifier(sizes: sizes, tensors: all).loss(data)
                }
                let numeric = (try lossWith(h) - lossWith(-h)) / Double(2 * h)
                XCTAssertEqual(Double(gradients[index]![element]), numeric, accuracy: 2e-3, "\(tensors[index].name)[\(element)]")
                values[element] += 0
            }
        }
    }

    /// 4. For a softmax regression, the mean outer product of the sampled-label gradients tends to the
    /// Gauss-Newton matrix (diag(p) - p p^T) (x) x x^T.
    func testSampledLabelGradientsEstimateTheGaussNewtonMatrix() throws {
        let sizes = [3, 4]
        let model = try MLPClassifier(sizes: sizes, tensors: MLPClassifier.initialTensors(sizes, seed: 7))
        let x: [Float] = [0.8, -0.5, 1.2]
        let row = MLPClassifier.Batch(features: x, labels: [0])
        // p = softmax(W x + b), from the model's own loss gradient with label 0: g = p - e_0.
        var p: [Double] = []
        _ = model.lossAndGradients(row, gradientScale: 1, curvatureSeed: nil, curvature: nil) { index, g in
            if index == 1 { p = g.enumerated().map { Double($0.element) + ($0.offset == 0 ? 1 : 0) } }
        }
        let d = 12
        var mean = [Double](repeating: 0, count: d * d)
        let draws = 20000
        for draw in 0..<draws {
            _ = model.lossAndGradients(row, gradientScale: 1, curvatureSeed: UInt64(draw) &* 31 &+ 1, curvature: { index, ng in
                guard index == 0 else { return }
                for a in 0..<d { for b in 0..<d { mean[a * d + b] += Double(ng[a]) * Double(ng[b]) / Double(draws) } }
            }) { _, _ in }
        }
        var worst = 0.0
        for a in 0..<d {
            for b in 0..<d {
                let (o, i) = (a / 3, a % 3), (o2, i2) = (b / 3, b % 3)
                let h = (o == o2 ? p[o] : 0) - p[o] * p[o2]
                worst = max(worst, abs(mean[a * d + b] - h * Double(x[i]) * Double(x[i2])))
            }
        }
        print("largest deviation of the Monte-Carlo GGN over \(draws) draws: \(worst)")
        XCTAssertLessThan(worst, 0.02)
    }

    func testCSVReadsHeadersTextLabelsAndReportsBadFields() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let good = dir.appendingPathComponent("good.csv").path
        var lines = ["width,height,kind"]
        for i in 0..<40 { lines.append("\(Double(i) * 0.5),\(40 - i),\(i % 2 == 0 ? "round" : "square")") }
        try lines.joined(separator: "\n").write(toFile: good, atomically: true, encoding: .utf8)
        let data = try TabularData(path: good, label: nil, batchSize: 4, seed: 1)
        XCTAssertEqual(data.featureNames, ["width", "height"])
        XCTAssertEqual(data.classes, ["round", "square"])
        XCTAssertEqual(data.training.rows + data.heldOut.rows, 40)
        XCTAssertEqual(data.heldOut.rows, 8)
        let means = (0..<2).map { j in (0..<data.training.rows).reduce(Float(0)) { $0 + data.training.features[$1 * 2 + j] } / Float(data.training.rows) }
        for m in means { XCTAssertEqual(m, 0, accuracy: 1e-5) }
        XCTAssertEqual(data.trainingBatch(step: 3, micro: 0).features, data.trainingBatch(step: 3, micro: 0).features)
        let bad = dir.appendingPathComponent("bad.csv").path
        try (lines[0...5] + ["1.5,oops,round"]).joined(separator: "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TabularData(path: bad, label: nil, batchSize: 4, seed: 1)) { error in
            XCTAssertEqual("\(error)", "\(bad): line 7: column 'height' is not a number: 'oops'")
        }
        XCTAssertThrowsError(try TabularData(path: good, label: "colour", batchSize: 4, seed: 1))
    }
}
