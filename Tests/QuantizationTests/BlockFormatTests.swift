import Checkpoint
import Foundation
import Kernels
@testable import Quantization
import TestSupport
import XCTest

/// Gaussian weights with a few large outliers, as trained matrices have.
func sampleWeights(_ count: Int, seed: UInt64) -> [Float] {
    var random = GaussianStream(seed: seed)
    return (0..<count).map { i in 0.02 * random.next() * (i % 97 == 0 ? 6 : 1) }
}

let ggufTypes: [TensorType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4NL, .q2K, .q3K, .q4K, .q6K]

final class BlockFormatTests: XCTestCase {
    /// Each format's relative RMS error on Gaussian weights: bounded by what its bits allow.
    func testRoundTripErrorMatchesTheBits() throws {
        let bounds: [TensorType: Float] = [.q8_0: 0.009, .q6K: 0.03, .q5_0: 0.065, .q5_1: 0.065, .q4_0: 0.13, .q4_1: 0.13,
                                           .iq4NL: 0.13, .q4K: 0.13, .q3K: 0.25, .q2K: 0.45]
        let rows = 8, columns = 512
        let w = sampleWeights(rows * columns, seed: 1)
        for type in ggufTypes {
            let format = try XCTUnwrap(GGUFFormats.format(for: type))
            let q = RoundToNearest.quantize(w, rows: rows, columns: columns, format: format)
            XCTAssertEqual(q.bytes.count, type.byteCount(elements: rows * columns))
            let back = q.dequantized()
            let error = zip(w, back).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            let power = w.reduce(Float(0)) { $0 + $1 * $1 }
            let relative = (error / power).squareRoot()
            XCTAssertLessThan(relative, bounds[type]!, "\(type)")
            XCTAssertGreaterThan(relative, bounds[type]! / 20, "\(type): suspiciously exact")
        }
    }

    /// The grid a block reports is the one its bytes decode to: every element's decoded value is the
    /// level of its code (what GPTQ relies on to propagate the true error).
    func testGridsAgreeWithTheDecoder() throws {
        let w = sampleWeights(256, seed: 2)
        for type in ggufTypes {
            let format = try XCTUnwrap(GGUFFormats.format(for: type))
            let q = RoundToNearest.quantize(w, rows: 1, columns: 256, format: format)
            let decoded = q.dequantized()
            q.bytes.withUnsafeBytes { raw in
                for b in 0..<(256 / format.blockElements) {
                    let block = raw.baseAddress! + b * format.blockBytes
                    for e in 0..<format.blockElements {
                        let grid = format.grid(block, subgroup: e / format.subgroupElements)
                        let value = w[b * format.blockElements + e]
                        let level = grid.scale * format.code(format.nearest(value, on: grid)) + grid.offset
                        XCTAssertEqual(level, decoded[b * format.blockElements + e], accuracy: 1e-6 + abs(level) * 1e-5, "\(type) element \(e)")
                    }
                }
            }
        }
    }

    /// Our weighted scale search beats llama.cpp's reference rule for Q4_0 (d = max / -8) on every row.
    func testScaleSearchBeatsTheMaxRule() {
        let w = sampleWeights(32 * 64, seed: 3)
        let q = RoundToNearest.quantize(w, rows: 64, columns: 32, format: SymmetricBlockFormat.q4_0).dequantized()
        for row in 0..<64 {
            let x = Array(w[(row * 32)..<((row + 1) * 32)])
            let extreme = x.max { abs($0) < abs($1) }!
            let d = NarrowFloat.halfToFloat(NarrowFloat.floatToHalf(extreme / -8))
            let reference = x.map { d * (min(max(($0 / d + 8.5).rounded(.down), 0), 15) - 8) }
            let ours = zip(x, q[(row * 32)..<((row + 1) * 32)]).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            let theirs = zip(x, reference).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            XCTAssertLessThanOrEqual(ours, theirs * 1.0001, "row \(row)")
        }
    }

    /// Our encoder's bytes, decoded by gguf-py (independent of our reader), give our decoded values bit for bit.
    func testGGUFPyDecodesOurBlocksIdentically() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let path = directory.appendingPathComponent("q.gguf").path
        let rows = 4, columns = 512
        var tensors: [EncodedTensor] = []
        var expected: [Float] = []
        for (i, type) in ggufTypes.enumerated() {
            let format = try XCTUnwrap(GGUFFormats.format(for: type))
            let q = RoundToNearest.quantize(sampleWeights(rows * columns, seed: UInt64(10 + i)), rows: rows, columns: columns, format: format)
            tensors.append(EncodedTensor(name: "t\(i)", type: type, shape: [rows, columns], bytes: q.bytes))
            expected += q.dequantized()
        }
        let file = try AtomicFile(path: path, overwrite: true)
        try EncodedTensor.writeGGUF(tensors, metadata: [("general.architecture", .text("test"))], to: file, name: path)
        try file.commit()
        let out = directory.appendingPathComponent("values.f32").path
        try TestSupport.pythonScript("gguf_dequantize.py", [path, out], modules: ["gguf", "numpy"])
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        let theirs = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(theirs.count, expected.count)
        XCTAssertEqual(theirs.map(\.bitPattern), expected.map(\.bitPattern))
    }

    func testGroupFormatLevelsAndZeroPoints() {
        let w = sampleWeights(4 * 128, seed: 4)
        for bits in [2, 3, 4] {
            let format = GroupFormat(bits: bits, groupSize: 64)
            let q = RoundToNearest.quantize(w, rows: 4, columns: 128, format: format)
            let back = q.dequantized()
            q.bytes.withUnsafeBytes { raw in
                for b in 0..<8 {
                    let (scale, zero) = format.parameters(raw.baseAddress! + b * format.blockBytes)
                    XCTAssert((1..<(1 << bits)).contains(zero))
                    XCTAssertGreaterThan(scale, 0)
                    // Every value sits on its group's grid.
                    for e in 0..<64 {
                        let steps = back[b * 64 + e] / scale + Float(zero)
                        XCTAssertEqual(steps, steps.rounded(), accuracy: 1e-3)
                    }
                }
            }
        }
    }
}
