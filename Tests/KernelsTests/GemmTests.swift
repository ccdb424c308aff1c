import Kernels
import TestSupport
import XCTest

final class GemmTests: XCTestCase {
    /// Every transpose combination against a naive triple loop in Double.
    func testMatchesNaiveProduct() {
        var generator = TestSupport.SeededGenerator(seed: 1)
        let (m, n, k) = (7, 5, 9)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &generator) }
            let b = (0..<(k * n)).map { _ in Float.random(in: -1...1, using: &generator) }
            var c = [Float](repeating: 1, count: m * n)
            Gemm.multiply(a, b, into: &c, m: m, n: n, k: k, transposeA: ta, transposeB: tb, alpha: 2, beta: 0.5)
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k {
                        let x = ta ? a[p * m + i] : a[i * k + p]
                        let y = tb ? b[j * k + p] : b[p * n + j]
                        sum += Double(x) * Double(y)
                    }
                    XCTAssertEqual(Double(c[i * n + j]), 2 * sum + 0.5, accuracy: 1e-5)
                }
            }
        }
    }
}
