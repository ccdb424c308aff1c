import Foundation
import Kernels
import TestSupport
import XCTest

/// The vector exponential against libm, and the threaded product against the single-threaded one.
final class VectorMathTests: XCTestCase {
    func testExponentialIsWithinTwoUlpOfLibm() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88.3 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0013 })
            let ours = VectorMath.exp(lanes)
            for k in 0..<8 {
                let reference = Foundation.exp(lanes[k])
                if lanes[k] <= 88.3 { worst = max(worst, abs(ours[k] - reference) / reference.ulp) }
            }
            x += 0.0131
        }
        print("largest error of VectorMath.exp: \(worst) ulp")
        XCTAssertLessThanOrEqual(worst, 2)
        XCTAssertEqual(VectorMath.exp(SIMD8(repeating: 0))[0], 1)
        XCTAssertLessThan(VectorMath.exp(SIMD8(repeating: -Float.infinity))[0], 1e-37)
    }

    func testExponentiateSumsAndHandlesTails() {
        for count in [1, 7, 8, 9, 1000, 1027] {
            var values = (0..<count).map { Float($0 % 13) * 0.5 - 3 }
            let expected = values.reduce(0.0) { $0 + Double(Foundation.exp($1 - 1)) }
            let sum = values.withUnsafeMutableBufferPointer { VectorMath.exponentiate($0.baseAddress!, count: count, shift: 1) }
            XCTAssertEqual(sum, expected, accuracy: expected * 1e-6)
            XCTAssertEqual(values[count - 1], Foundation.exp(Float((count - 1) % 13) * 0.5 - 4), accuracy: 1e-6)
        }
    }

    func testThreadedProductsEqualOneThread() {
        var generator = TestSupport.SeededGenerator(seed: 1)
        let m = 301, n = 97, k = 129
        let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &generator) }
        let b = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &generator) }
        var results: [[Float]] = []
        for threads in [1, 2, 3] {
            Gemm.setThreads(threads)
            var c = [Float](repeating: 1, count: m * n), ct = [Float](repeating: 1, count: k * n)
            Gemm.multiply(a, b, into: &c, m: m, n: n, k: k, transposeB: true, beta: 0.5)
            Gemm.multiply(a, c, into: &ct, m: k, n: n, k: m, transposeA: true)
            results.append(c + ct)
        }
        Gemm.setThreads(1)
        for r in 1..<3 {
            let differing = zip(results[0], results[r]).enumerated().filter { $0.element.0 != $0.element.1 }
            XCTAssertTrue(differing.isEmpty, "\(r + 1) threads: \(differing.count) values differ, first at \(differing.first.map { "\($0.offset): \($0.element)" } ?? "")")
        }
    }
}
