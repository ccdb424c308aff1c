import Checkpoint
import Kernels
import Optimizers
import TestSupport
import XCTest

/// The properties notes/flora.md lists for a faithful Flora, numbered as there.
final class FloraPropertyTests: XCTestCase {
    private func random(_ count: Int, _ generator: inout TestSupport.SeededGenerator, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in Float.random(in: -scale...scale, using: &generator) }
    }

    /// Runs `steps` steps of `optimizer` on fixed random gradients; returns the weights after each step.
    private func trajectory(_ optimizer: Optimizer, shapes: [[Int]], steps: Int, seed: UInt64 = 1) -> [[Float]] {
        var generator = TestSupport.SeededGenerator(seed: seed)
        var weights = shapes.map { random($0.reduce(1, *), &generator) }
        var out: [[Float]] = []
        for _ in 0..<steps {
            for i in shapes.indices {
                var gradient = random(weights[i].count, &generator, scale: 0.1)
                weights[i].withUnsafeMutableBufferPointer { w in
                    gradient.withUnsafeMutableBufferPointer { optimizer.update(i, weights: w, gradient: $0, learningRate: 0.01) }
                }
            }
            optimizer.endStep()
            out.append(weights.flatMap { $0 })
        }
        return out
    }

    private let shapes = [[12, 20], [20, 12], [16], [40, 8]]

    /// 1. Without momentum (beta1 = 0) or without a rank, Flora is Adafactor, step for step.
    func testProperty1WithoutMomentumOrRankFloraIsAdafactor() {
        let adafactor = trajectory(Adafactor(shapes: shapes, settings: .init()), shapes: shapes, steps: 6)
        let floraNoMomentum = trajectory(Adafactor(shapes: shapes, settings: .init(beta1: 0, rank: 4, kappa: 2)), shapes: shapes, steps: 6)
        XCTAssertEqual(adafactor, floraNoMomentum)
        let withMomentum = trajectory(Adafactor(shapes: shapes, settings: .init(beta1: 0.9)), shapes: shapes, steps: 6)
        let floraNoRank = trajectory(Adafactor(shapes: shapes, settings: .init(beta1: 0.9, rank: nil, kappa: 2)), shapes: shapes, steps: 6)
        XCTAssertEqual(withMomentum, floraNoRank)
        XCTAssertNotEqual(withMomentum, adafactor)
    }

    /// 2. With orthogonal projections at full rank (A^T A = I), Flora is Adafactor with momentum, through
    /// resamples (kappa = 2) too.
    func testProperty2OrthogonalFullRankFloraIsAdafactorWithMomentum() {
        let square = [[12, 20], [20, 12]]
        let b = trajectory(Adafactor(shapes: square, settings: .init(beta1: 0.9)), shapes: square, steps: 7)
        for kind in [RandomProjection.Kind.orthogonal, .subspace] {
            var settings = Adafactor.Settings(beta1: 0.9, rank: 12, kappa: 2)
            settings.projection = kind
            let flora = Adafactor(shapes: square, settings: settings)
            XCTAssertTrue(flora.isCompressed(0) && flora.isCompressed(1))
            let a = trajectory(flora, shapes: square, steps: 7)
            for (x, y) in zip(a, b) {
                for (u, v) in zip(x, y) { XCTAssertEqual(u, v, accuracy: 2e-5, "\(kind)") }
            }
        }
        // Gaussian projections at the same rank differ (equal only in expectation).
        let gaussian = trajectory(Adafactor(shapes: square, settings: .init(beta1: 0.9, rank: 12, kappa: 2)), shapes: square, steps: 7)
        XCTAssertGreaterThan(zip(gaussian.last!, b.last!).map { abs($0 - $1) }.max()!, 1e-4)
    }

    /// 3. A seed regenerates the same projection; next seeds give distinct streams.
    func testProperty3SeedsAreDeterministicAndDistinct() {
        let a = RandomProjection(seed: 42, rank: 4, rows: 8, columns: 30)
        XCTAssertEqual(a.matrix, RandomProjection(seed: 42, rank: 4, rows: 8, columns: 30).matrix)
        var seeds: Set<UInt64> = [42]
        var seed: UInt64 = 42
        for _ in 0..<1000 {
            seed = RandomProjection.nextSeed(seed)
            XCTAssertTrue(seeds.insert(seed).inserted)
        }
        XCTAssertNotEqual(a.matrix, RandomProjection(seed: RandomProjection.nextSeed(42), rank: 4, rows: 8, columns: 30).matrix)
    }

    /// 4. E[A^T A] = I (m = 64, tau = 8, 4000 draws: max deviation about 0.03).
    func testProperty4ProjectionIsIsotropicInExpectation() {
        let n = 64, rank = 8, draws = 4000
        var sum = [Double](repeating: 0, count: n * n)
        for draw in 0..<draws {
            let a = RandomProjection(seed: UInt64(draw) &* 7919, rank: rank, rows: n, columns: 200).matrix
            for i in 0..<n {
                for j in i..<n {
                    var dot = 0.0
                    for r in 0..<rank { dot += Double(a[r * n + i]) * Double(a[r * n + j]) }
                    sum[i * n + j] += dot
                }
            }
        }
        var worst = 0.0
        for i in 0..<n { for j in i..<n { worst = max(worst, abs(sum[i * n + j] / Double(draws) - (i == j ? 1 : 0))) } }
        print("max |mean(A^T A) - I| over \(draws) draws: \(worst)")
        XCTAssertLessThan(worst, 0.06)
    }

    /// 5. Accumulation is linear: DOWN(g1) + DOWN(g2) == DOWN(g1 + g2).
    func testProperty5AccumulationIsLinear() {
        var generator = TestSupport.SeededGenerator(seed: 4)
        let shape = [24, 10]
        let g1 = random(240, &generator), g2 = random(240, &generator)
        let split = GradientAccumulator(shapes: [shape], rank: 4, seed: 9)
        let joint = GradientAccumulator(shapes: [shape], rank: 4, seed: 9)
        g1.withUnsafeBufferPointer { split.add(0, $0) }
        g2.withUnsafeBufferPointer { split.add(0, $0) }
        zip(g1, g2).map(+).withUnsafeBufferPointer { joint.add(0, $0) }
        var a: [Float] = [], b: [Float] = []
        split.withGradient(0) { a = Array($0) }
        joint.withGradient(0) { b = Array($0) }
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        XCTAssertEqual(split.stateBytes, 4 * 4 * 24)
        // The next step uses a new projection.
        split.reset()
        g1.withUnsafeBufferPointer { split.add(0, $0) }
        joint.reset()
        var c: [Float] = []
        split.withGradient(0) { c = Array($0) }
        g1.withUnsafeBufferPointer { joint.add(0, $0) }
        var d: [Float] = []
        joint.withGradient(0) { d = Array($0) }
        XCTAssertEqual(c, d)
        XCTAssertNotEqual(c, a)
    }

    /// 6. The transfer at a resample is unbiased: the mean over draws of UP'(DOWN'(X)) tends to X, and a
    /// single draw's cosine with X is about sqrt(tau / b).
    func testProperty6TransferIsUnbiased() {
        var generator = TestSupport.SeededGenerator(seed: 6)
        let n = 64, m = 96, rank = 8, draws = 3000
        let x = random(n * m, &generator)
        var mean = [Double](repeating: 0, count: n * m)
        var cosines = 0.0
        for draw in 0..<draws {
            let p = RandomProjection(seed: UInt64(draw) &+ 1000, rank: rank, rows: n, columns: m)
            var compressed = [Float](repeating: 0, count: p.compressedCount), back = [Float](repeating: 0, count: n * m)
            p.down(x, into: &compressed)
            p.up(compressed, into: &back)
            for i in 0..<(n * m) { mean[i] += Double(back[i]) / Double(draws) }
            let dot = zip(x, back).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let norms = (x.reduce(0.0) { $0 + Double($1 * $1) } * back.reduce(0.0) { $0 + Double($1 * $1) }).squareRoot()
            cosines += dot / norms / Double(draws)
        }
        let error = zip(mean, x).reduce(0.0) { $0 + pow($1.0 - Double($1.1), 2) }.squareRoot() / x.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
        print("relative error of the mean transfer: \(error); mean cosine \(cosines), sqrt(tau/b) = \((Double(rank) / Double(n)).squareRoot())")
        XCTAssertLessThan(error, 0.2)
        XCTAssertEqual(cosines, (Double(rank) / Double(n)).squareRoot(), accuracy: 0.06)
    }

    /// 7. State: exactly tau * max(n, m) + n + m floats (and the seed) per eligible matrix; embeddings
    /// (sides more than 4x apart), vectors and matrices thinner than the rank keep plain Adafactor state.
    func testProperty7StateSizeAndEligibility() {
        let rank = 8
        let cases: [([Int], Bool)] = [([64, 256], true), ([256, 64], true), ([64, 257], false), ([7, 20], false), ([64], false), ([32, 32], true)]
        for (shape, eligible) in cases {
            let flora = Adafactor(shapes: [shape], settings: .init(beta1: 0.9, rank: rank))
            XCTAssertEqual(flora.isCompressed(0), eligible, "\(shape)")
            let expected: Int
            if eligible {
                expected = 4 * (rank * shape.max()! + shape[0] + shape[1]) + 8
            } else if shape.count == 2 {
                expected = 4 * (shape[0] * shape[1] + shape[0] + shape[1])
            } else {
                expected = 4 * 2 * shape[0]
            }
            XCTAssertEqual(flora.stateBytes, expected, "\(shape)")
        }
        XCTAssertFalse(Adafactor(shapes: [[64, 64]], settings: .init(beta1: 0, rank: rank)).isCompressed(0))
        XCTAssertEqual(Adafactor(shapes: [[64, 64]], settings: .init()).stateBytes, 4 * 128)
    }
}
