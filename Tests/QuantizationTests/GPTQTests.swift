import Kernels
@testable import Quantization
import XCTest

final class GPTQTests: XCTestCase {
    func testUpperCholeskyOfInverse() throws {
        let n = 5
        var a = [Double](repeating: 0, count: n * n)
        var random = GaussianStream(seed: 5)
        let m = (0..<(n * n)).map { _ in Double(random.next()) }
        for i in 0..<n { for j in 0..<n { a[i * n + j] = (0..<n).reduce(0) { $0 + m[i * n + $1] * m[j * n + $1] } + (i == j ? 0.5 : 0) } }
        let u = try XCTUnwrap(Lapack.upperCholeskyOfInverse(a, size: n))
        for i in 0..<n { for j in 0..<i { XCTAssertEqual(u[i * n + j], 0) } }
        // (U^T U) A = I.
        for i in 0..<n {
            for j in 0..<n {
                var value = 0.0
                for k in 0..<n {
                    let inverse = (0..<n).reduce(0.0) { $0 + u[$1 * n + i] * u[$1 * n + k] }
                    value += inverse * a[k * n + j]
                }
                XCTAssertEqual(value, i == j ? 1 : 0, accuracy: 1e-9)
            }
        }
    }

    /// Correlated inputs X [samples x n] and the Hessian X^T X.
    private func correlatedInputs(samples: Int, n: Int) -> (x: [Float], h: [Float]) {
        var random = GaussianStream(seed: 6)
        let mixing = (0..<(n * n)).map { _ in random.next() / Float(n).squareRoot() }
        let z = (0..<(samples * n)).map { _ in random.next() }
        var x = [Float](repeating: 0, count: samples * n)
        Gemm.multiply(z, mixing, into: &x, m: samples, n: n, k: n)
        for s in 0..<samples { for i in 0..<n { x[s * n + i] += z[s * n + i] * (i % 7 == 0 ? 3 : 0.3) } }
        var h = [Float](repeating: 0, count: n * n)
        Gemm.multiply(x, x, into: &h, m: n, n: n, k: samples, transposeA: true)
        return (x, h)
    }

    private func outputError(_ w: [Float], _ q: [Float], _ x: [Float], rows: Int, n: Int, samples: Int) -> Float {
        let difference = zip(w, q).map { $0 - $1 }
        var out = [Float](repeating: 0, count: samples * rows)
        Gemm.multiply(x, difference, into: &out, m: samples, n: rows, k: n, transposeB: true)
        return out.reduce(0) { $0 + $1 * $1 }
    }

    /// GPTQ's point: a lower layer-output error than round-to-nearest in the same format, with and
    /// without act-order, for uniform, K-quant and non-linear formats.
    func testGPTQLowersTheOutputError() throws {
        let rows = 48, n = 256, samples = 1024
        let (x, h) = correlatedInputs(samples: samples, n: n)
        let w = sampleWeights(rows * n, seed: 7)
        let importance = (0..<n).map { h[$0 * n + $0] }
        let formats: [BlockFormat] = [GroupFormat(bits: 2, groupSize: 64), GroupFormat(bits: 3, groupSize: 32), SymmetricBlockFormat.q4_0,
                                      Q2KFormat(), Q4KFormat(), NonLinearBlockFormat()]
        for format in formats {
            let rtn = RoundToNearest.quantize(w, rows: rows, columns: n, format: format, importance: importance).dequantized()
            let rtnError = outputError(w, rtn, x, rows: rows, n: n, samples: samples)
            for actOrder in [false, true] {
                let gptq = GPTQ(actOrder: actOrder).quantize(w, rows: rows, columns: n, hessian: h, format: format).dequantized()
                let gptqError = outputError(w, gptq, x, rows: rows, n: n, samples: samples)
                XCTAssertLessThan(gptqError, 0.9 * rtnError, "\(format.name) act-order \(actOrder)")
            }
        }
    }

    /// With (almost) no rounding, GPTQ returns the weights themselves: the error propagation adds nothing.
    func testFineGridReproducesTheWeights() {
        let rows = 4, n = 64
        let (_, h) = correlatedInputs(samples: 256, n: n)
        let w = sampleWeights(rows * n, seed: 8)
        let q = GPTQ().quantize(w, rows: rows, columns: n, hessian: h, format: GroupFormat(bits: 8, groupSize: 32)).dequantized()
        for (a, b) in zip(w, q) { XCTAssertEqual(a, b, accuracy: 0.002) }
    }
}
