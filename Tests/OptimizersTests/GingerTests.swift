import Kernels
import Optimizers
import TestSupport
import XCTest

/// The tests notes/ginger.md lists for a faithful Ginger (the Monte-Carlo GGN test is in LMTests, beside
/// the sampled-label loss it checks).
final class GingerTests: XCTestCase {
    private func gaussian(_ n: Int, _ stream: inout GaussianStream) -> [Double] { (0..<n).map { _ in Double(stream.next()) } }

    /// Top-tau part of a symmetric matrix (by its eigenpairs).
    private func topRank(_ g: [Double], size d: Int, rank: Int) -> [Double] {
        let (values, vectors) = Lapack.symmetricEigen(g, size: d)!
        var out = [Double](repeating: 0, count: d * d)
        for e in (d - rank)..<d {
            for i in 0..<d { for j in 0..<d { out[i * d + j] += values[e] * vectors[e * d + i] * vectors[e * d + j] } }
        }
        return out
    }

    /// (A + lambda I)^-1 b by Gaussian elimination, independent of LAPACK.
    private func denseSolve(_ a: [Double], _ b: [Double], lambda: Double, size d: Int) -> [Double] {
        var m = a, x = b
        for i in 0..<d { m[i * d + i] += lambda }
        for col in 0..<d {
            let pivot = (col..<d).max { abs(m[$0 * d + col]) < abs(m[$1 * d + col]) }!
            if pivot != col {
                for k in 0..<d { m.swapAt(col * d + k, pivot * d + k) }
                x.swapAt(col, pivot)
            }
            for row in (col + 1)..<d {
                let f = m[row * d + col] / m[col * d + col]
                for k in col..<d { m[row * d + k] -= f * m[col * d + k] }
                x[row] -= f * x[col]
            }
        }
        for row in stride(from: d - 1, through: 0, by: -1) {
            var sum = x[row]
            for k in (row + 1)..<d { sum -= m[row * d + k] * x[k] }
            x[row] = sum / m[row * d + row]
        }
        return x
    }

    /// 1. The eigenpair recursion equals "top-tau EMA of ng ng^T, then (G + lambda I)^-1 m_hat" written out
    /// densely, to about 1e-7, in Double, for tau < d.
    func testMatchesTheExplicitRecursion() {
        let d = 12, rank = 3, beta1 = 0.9, beta2 = 0.99, lambda = 1e-2
        var stream = GaussianStream(seed: 3)
        var block = CurvatureBlock<Double>(size: d, rank: rank)
        var g = [Double](repeating: 0, count: d * d), m = [Double](repeating: 0, count: d)
        var worst = 0.0
        for step in 1...25 {
            let ng = gaussian(d, &stream), grad = gaussian(d, &stream)
            block.observe(ng, beta2: beta2)
            let ours = block.step(grad, beta1: beta1, step: step, lambda: lambda)
            for i in 0..<d { for j in 0..<d { g[i * d + j] = beta2 * g[i * d + j] + (1 - beta2) * ng[i] * ng[j] } }
            g = topRank(g, size: d, rank: rank)
            for i in 0..<d { m[i] = beta1 * m[i] + (1 - beta1) * grad[i] }
            let mHat = m.map { $0 / (1 - pow(beta1, Double(step))) }
            let reference = denseSolve(g, mHat, lambda: lambda, size: d)
            let scale = reference.map(abs).max()!
            worst = max(worst, zip(ours, reference).map { abs($0 - $1) }.max()! / scale)
        }
        print("largest relative difference from the explicit recursion: \(worst)")
        XCTAssertLessThan(worst, 1e-7)
    }

    /// 2. The Woodbury application equals a dense solve of (U diag(sigma) U^T + lambda I) x = v, for
    /// damping from tiny to large; dense blocks (d <= tau) too.
    func testWoodburyEqualsDenseSolve() {
        var stream = GaussianStream(seed: 5)
        for (d, rank) in [(30, 4), (3, 4)] {
            var block = CurvatureBlock<Double>(size: d, rank: rank)
            for _ in 0..<10 { block.observe(gaussian(d, &stream).map { $0 * 10 }, beta2: 0.9) }
            var g = [Double](repeating: 0, count: d * d)
            if block.dense.isEmpty {
                for r in 0..<block.used {
                    for i in 0..<d { for j in 0..<d { g[i * d + j] += block.sigma[r] * block.basis[r * d + i] * block.basis[r * d + j] } }
                }
            } else {
                g = block.dense
            }
            let v = gaussian(d, &stream)
            for lambda in [1e-5, 1e-2, 1.0, 100.0] {
                var probe = block
                let ours: [Double]
                if block.dense.isEmpty {
                    ours = block.apply(v, lambda: lambda)
                } else {
                    // beta1 = 0 makes m_hat the gradient itself.
                    ours = probe.step(v, beta1: 0, step: 1, lambda: lambda)
                }
                let reference = denseSolve(g, v, lambda: lambda, size: d)
                let scale = reference.map(abs).max()!
                // Relative to the solution; the elimination itself loses about cond = sigma / lambda.
                for (a, b) in zip(ours, reference) { XCTAssertEqual(a, b, accuracy: 1e-7 * scale, "d \(d) lambda \(lambda)") }
            }
        }
    }

    /// 3. As lambda grows, lambda times the step tends to m_hat: momentum SGD with the lr scaled by lambda.
    func testLargeDampingTendsToMomentumSGD() {
        var stream = GaussianStream(seed: 8)
        let d = 20
        var previous = Double.infinity
        for lambda in [1.0, 1e2, 1e4, 1e6] {
            var block = CurvatureBlock<Double>(size: d, rank: 4)
            var momentum = [Double](repeating: 0, count: d)
            var local = stream
            var worst = 0.0
            for step in 1...5 {
                block.observe(gaussian(d, &local).map { $0 * 3 }, beta2: 0.99)
                let grad = gaussian(d, &local)
                let scaled = block.step(grad, beta1: 0.9, step: step, lambda: lambda).map { $0 * lambda }
                for i in 0..<d { momentum[i] = 0.9 * momentum[i] + 0.1 * grad[i] }
                let mHat = momentum.map { $0 / (1 - pow(0.9, Double(step))) }
                worst = max(worst, zip(scaled, mHat).map { abs($0 - $1) }.max()! / mHat.map(abs).max()!)
            }
            XCTAssertLessThan(worst, previous, "lambda \(lambda)")
            previous = worst
            if lambda == 1e6 { XCTAssertLessThan(worst, 1e-4) }
        }
        _ = stream.next()
    }

    /// 5. On an ill-conditioned quadratic (d = 50, four eigenvalues 1e2..1e3, the rest 1..10) with the
    /// curvature warmed up, Ginger reaches f < 1e-6 f0 in clearly fewer steps than Adam at its best lr.
    func testWarmCurvatureBeatsTunedAdamOnAQuadratic() {
        let d = 50
        var stream = GaussianStream(seed: 11)
        // A = Q diag(e) Q^T with Q orthonormal (Gram-Schmidt of Gaussian vectors).
        var q = (0..<(d * d)).map { _ in Double(stream.next()) }
        for i in 0..<d {
            for j in 0..<i {
                let dot = (0..<d).reduce(0.0) { $0 + q[i * d + $1] * q[j * d + $1] }
                for k in 0..<d { q[i * d + k] -= dot * q[j * d + k] }
            }
            let norm = (0..<d).reduce(0.0) { $0 + q[i * d + $1] * q[i * d + $1] }.squareRoot()
            for k in 0..<d { q[i * d + k] /= norm }
        }
        let dominant: [Double] = [1e2, 3e2, 6e2, 1e3]
        var eigen = [Double](repeating: 0, count: d)
        for r in 0..<d { eigen[r] = r < 4 ? dominant[r] : 1 + 9 * Double(r - 4) / Double(d - 5) }
        /// A^power x.
        func times(_ x: [Double], _ power: Double) -> [Double] {
            var coordinates = [Double](repeating: 0, count: d)
            for r in 0..<d {
                var dot = 0.0
                for k in 0..<d { dot += q[r * d + k] * x[k] }
                coordinates[r] = dot * pow(eigen[r], power)
            }
            var out = [Double](repeating: 0, count: d)
            for r in 0..<d { for k in 0..<d { out[k] += coordinates[r] * q[r * d + k] } }
            return out
        }
        func f(_ x: [Double]) -> Double {
            let ax = times(x, 1)
            var sum = 0.0
            for i in 0..<d { sum += x[i] * ax[i] }
            return 0.5 * sum
        }
        let start = (0..<d).map { _ in Double(stream.next()) }
        let f0 = f(start)
        func ginger(lr: Double) -> Int {
            var block = CurvatureBlock<Double>(size: d, rank: 4)
            var local = GaussianStream(seed: 99)
            for _ in 0..<200 { block.observe(times((0..<d).map { _ in Double(local.next()) }, 0.5), beta2: 0.99) }
            var x = start
            for step in 1...2000 {
                block.observe(times((0..<d).map { _ in Double(local.next()) }, 0.5), beta2: 0.99)
                let delta = block.step(times(x, 1), beta1: 0.9, step: step, lambda: 1)
                for i in 0..<d { x[i] -= lr * delta[i] }
                if f(x) < 1e-6 * f0 { return step }
                if !f(x).isFinite { return .max }
            }
            return .max
        }
        func adam(lr: Double) -> Int {
            var x = start, m = [Double](repeating: 0, count: d), v = m
            for step in 1...2000 {
                let g = times(x, 1)
                for i in 0..<d {
                    m[i] = 0.9 * m[i] + 0.1 * g[i]
                    v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
                    x[i] -= lr * (m[i] / (1 - pow(0.9, Double(step)))) / ((v[i] / (1 - pow(0.999, Double(step)))).squareRoot() + 1e-8)
                }
                if f(x) < 1e-6 * f0 { return step }
            }
            return .max
        }
        let gingerBest = [0.05, 0.1, 0.2, 0.3, 0.5].map(ginger).min()!
        let adamBest = [0.003, 0.01, 0.03, 0.1, 0.3].map(adam).min()!
        print("steps to f < 1e-6 f0: Ginger (warm) \(gingerBest), Adam (best lr) \(adamBest)")
        XCTAssertLessThan(Double(gingerBest), 0.7 * Double(adamBest))
    }
}
