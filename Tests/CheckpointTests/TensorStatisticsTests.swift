import Checkpoint
import Kernels
import TestSupport
import XCTest

final class TensorStatisticsTests: XCTestCase {
    /// The histogram path for 8/16-bit floats and the decode path for F32 agree on the same values.
    func testNarrowFloatStatisticsMatchDecodedValues() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        var generator = TestSupport.SeededGenerator(seed: 5)
        var values = (0..<3001).map { _ in Float.random(in: -2...2, using: &generator) }
        values[7] = .nan; values[8] = .infinity; values[9] = 0; values[10] = -0.0
        for type in [TensorType.bf16, .f16, .f8e4m3, .f8e5m2] {
            let bytes = try Fixtures.encoded(values, as: type)
            var exact = [Float](repeating: 0, count: values.count)
            try bytes.withUnsafeBytes { raw in try exact.withUnsafeMutableBufferPointer { try ElementCodec.decode(type, raw, into: $0) } }
            let path = dir.appendingPathComponent("\(type).safetensors").path
            try Fixtures.writeSafetensors([("narrow", type, [values.count], bytes), ("wide", .f32, [values.count], try Fixtures.encoded(exact, as: .f32))],
                                          metadata: nil, to: path)
            let statistics = try TensorStatistics.collect(try Checkpoint.open(path), chunkBytes: 1000)
            let (narrow, wide) = (statistics[0].values, statistics[1].values)
            XCTAssertEqual(narrow.count, wide.count)
            XCTAssertEqual(narrow.nanCount, wide.nanCount, "\(type)")
            XCTAssertEqual(narrow.infinityCount, wide.infinityCount, "\(type)")
            XCTAssertEqual(narrow.zeroCount, wide.zeroCount, "\(type)")
            XCTAssertEqual(narrow.minimum, wide.minimum)
            XCTAssertEqual(narrow.maximum, wide.maximum)
            XCTAssertEqual(narrow.mean, wide.mean, accuracy: 1e-5)
            XCTAssertEqual(narrow.standardDeviation, wide.standardDeviation, accuracy: 1e-5)
            let field = try XCTUnwrap(type.exponentField)
            var histogram = BitFieldHistogram(bits: field.bits)
            bytes.withUnsafeBytes { histogram.add($0, elementBytes: type.blockBytes, shift: field.shift) }
            XCTAssertEqual(statistics[0].exponents?.counts, histogram.counts, "\(type)")
        }
    }
}
