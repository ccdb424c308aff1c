import Checkpoint
import Kernels
import Optimizers
import TestSupport
import XCTest

/// AdamW and Adafactor against their formulas written out in Double, GaLore on a quadratic, LAPACK's
/// SVD and eigensolver, and state save/restore.
final class OptimizerTests: XCTestCase {
    func testAdamWMatchesItsFormula() {
        let optimizer = AdamW(shapes: [[3]], beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1)
        var w: [Float] = [1, -2, 0.5]
        var reference = w.map(Double.init), m = [0.0, 0, 0], v = [0.0, 0, 0]
        let gradients: [[Float]] = [[0.1, -0.2, 0.3], [0.05, 0.1, -0.4], [-0.3, 0.2, 0.1]]
        for (t, g) in gradients.enumerated() {
            var gradient = g
            w.withUnsafeMutableBufferPointer { weights in
                gradient.withUnsafeMutableBufferPointer { optimizer.update(0, weights: weights, gradient: $0, learningRate: 0.01) }
            }
            optimizer.endStep()
            for i in 0..<3 {
                let gi = Double(g[i])
                m[i] = 0.9 * m[i] + 0.1 * gi
                v[i] = 0.99 * v[i] + 0.01 * gi * gi
                let mHat = m[i] / (1 - pow(0.9, Double(t + 1))), vHat = v[i] / (1 - pow(0.99, Double(t + 1)))
                reference[i] = reference[i] * (1 - 0.01 * 0.1) - 0.01 * mHat / (vHat.squareRoot() + 1e-8)
            }
        }
        for i in 0..<3 { XCTAssertEqual(Double(w[i]), reference[i], accuracy: 1e-6) }
        XCTAssertEqual(optimizer.stateBytes, 24)
    }

    /// One factored Adafactor step on a 2x3 matrix, by hand: beta2_1 = 0, so the row/column EMAs are the
    /// means of g^2 + eps1 and u = g / sqrt(row_r / mean(row) * col_c).
    func testAdafactorFactoredStepMatchesItsFormula() {
        let optimizer = Adafactor(shapes: [[2, 3]], settings: .init())
        var w: [Float] = [0.5, -0.25, 1, 2, 0, -1]
        let original = w
        var g: [Float] = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6]
        let grads = g.map(Double.init)
        w.withUnsafeMutableBufferPointer { weights in
            g.withUnsafeMutableBufferPointer { optimizer.update(0, weights: weights, gradient: $0, learningRate: 0.1) }
        }
        let square = grads.map { $0 * $0 + 1e-30 }
        let rows = [(square[0] + square[1] + square[2]) / 3, (square[3] + square[4] + square[5]) / 3]
        let columns = [(square[0] + square[3]) / 2, (square[1] + square[4]) / 2, (square[2] + square[5]) / 2]
        let rowMean = (rows[0] + rows[1]) / 2
        var u = (0..<6).map { grads[$0] / (rows[$0 / 3] / rowMean * columns[$0 % 3]).squareRoot() }
        let rms = (u.reduce(0) { $0 + $1 * $1 } / 6).squareRoot()
        u = u.map { $0 / max(1, rms) }
        let weightRMS = (original.reduce(0.0) { $0 + Double($1 * $1) } / 6).squareRoot()
        for i in 0..<6 { XCTAssertEqual(Double(w[i]), Double(original[i]) - 0.1 * weightRMS * u[i], accuracy: 1e-6) }
    }

    func testSaveAndRestoreContinueExactly() throws {
        let shapes = [[16, 24], [24], [24, 16]]
        var settings = Adafactor.Settings(beta1: 0.9, rank: 4, kappa: 3)
        settings.weightDecay = 0.01
        let makers: [() -> Optimizer] = [
            { AdamW(shapes: shapes) }, { Adafactor(shapes: shapes, settings: settings) }, { GaLore(shapes: shapes, rank: 4, updateGap: 2) },
        ]
        for make in makers {
            var generator = TestSupport.SeededGenerator(seed: 3)
            let gradients = (0..<8).map { _ in shapes.map { (0..<$0.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &generator) } } }
            func run(_ optimizer: Optimizer, _ weights: inout [[Float]], steps: Range<Int>) {
                for step in steps {
                    for i in shapes.indices {
                        var g = gradients[step][i]
                        weights[i].withUnsafeMutableBufferPointer { w in g.withUnsafeMutableBufferPointer { optimizer.update(i, weights: w, gradient: $0, learningRate: 0.01) } }
                    }
                    optimizer.endStep()
                }
            }
            let initial = shapes.map { [Float](repeating: 0.5, count: $0.reduce(1, *)) }
            var straight = initial
            let a = make()
            run(a, &straight, steps: 0..<8)
            var resumed = initial
            let b = make()
            run(b, &resumed, steps: 0..<5)
            let c = make()
            try c.restoreState(b.saveState())
            XCTAssertEqual(c.steps, 5)
            run(c, &resumed, steps: 5..<8)
            XCTAssertEqual(straight, resumed, "\(type(of: a))")
            XCTAssertThrowsError(try make().restoreState(OptimizerState()))
        }
    }

    func testGaLoreDescendsAQuadratic() {
        var generator = TestSupport.SeededGenerator(seed: 12)
        let n = 32, m = 24
        let target = (0..<(n * m)).map { _ in Float.random(in: -1...1, using: &generator) }
        var w = [Float](repeating: 0, count: n * m)
        let optimizer = GaLore(shapes: [[n, m]], rank: 8, updateGap: 10, scale: 1)
        func loss() -> Float { zip(w, target).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
        let start = loss()
        for _ in 0..<300 {
            var g = zip(w, target).map { 2 * ($0 - $1) }
            w.withUnsafeMutableBufferPointer { weights in g.withUnsafeMutableBufferPointer { optimizer.update(0, weights: weights, gradient: $0, learningRate: 0.05) } }
            optimizer.endStep()
        }
        XCTAssertLessThan(loss(), start * 0.05)
        XCTAssertEqual(optimizer.stateBytes, 4 * (8 * 24 + 2 * 32 * 8))
    }

    func testLapackSVDAndEigenReconstruct() throws {
        var generator = TestSupport.SeededGenerator(seed: 2)
        for (m, n) in [(5, 3), (3, 5)] {
            let a = (0..<(m * n)).map { _ in Float.random(in: -1...1, using: &generator) }
            let (u, s, vt) = try XCTUnwrap(Lapack.svd(a, rows: m, columns: n))
            let k = min(m, n)
            XCTAssertEqual(s, s.sorted(by: >))
            for i in 0..<m {
                for j in 0..<n {
                    let value = (0..<k).reduce(Float(0)) { $0 + u[i * k + $1] * s[$1] * vt[$1 * n + j] }
                    XCTAssertEqual(value, a[i * n + j], accuracy: 1e-5)
                }
            }
        }
        let symmetric: [Double] = [4, 1, 0, 1, 3, 1, 0, 1, 2]
        let (values, vectors) = try XCTUnwrap(Lapack.symmetricEigen(symmetric, size: 3))
        XCTAssertEqual(values, values.sorted())
        for r in 0..<3 {
            for i in 0..<3 {
                let av = (0..<3).reduce(0.0) { $0 + symmetric[i * 3 + $1] * vectors[r * 3 + $1] }
                XCTAssertEqual(av, values[r] * vectors[r * 3 + i], accuracy: 1e-10)
            }
        }
    }
}
