import Kernels
import TestSupport
import XCTest

final class StatisticsTests: XCTestCase {
    func testRunningStatisticsMatchesDoubleReference() {
        var generator = TestSupport.SeededGenerator(seed: 3)
        var values = (0..<10_007).map { _ in Float.random(in: -3...5, using: &generator) }
        values[5] = .nan; values[17] = .infinity; values[9000] = -.infinity; values[10_005] = .nan
        values[100] = 0; values[10_006] = 0
        var statistics = RunningStatistics()
        values.withUnsafeBufferPointer { all in
            statistics.add(UnsafeBufferPointer(rebasing: all[0..<4099]))
            statistics.add(UnsafeBufferPointer(rebasing: all[4099...]))
        }
        let finite = values.filter(\.isFinite)
        let mean = finite.reduce(0.0) { $0 + Double($1) } / Double(finite.count)
        let variance = finite.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(finite.count)
        XCTAssertEqual(statistics.count, values.count)
        XCTAssertEqual(statistics.nanCount, 2)
        XCTAssertEqual(statistics.infinityCount, 2)
        XCTAssertEqual(statistics.zeroCount, values.filter { $0 == 0 }.count)
        XCTAssertEqual(statistics.minimum, finite.min())
        XCTAssertEqual(statistics.maximum, finite.max())
        XCTAssertEqual(statistics.mean, mean, accuracy: 1e-5)
        XCTAssertEqual(statistics.standardDeviation, variance.squareRoot(), accuracy: 1e-5)
    }

    func testHistogramEntropy() {
        var histogram = BitFieldHistogram(bits: 8)
        // Four equally frequent exponents in F32 values: entropy exactly 2 bits.
        let values: [Float] = (0..<400).map { [1, 2, 4, 8][$0 % 4] }
        values.withUnsafeBytes { histogram.add($0, elementBytes: 4, shift: 23) }
        XCTAssertEqual(histogram.total, 400)
        XCTAssertEqual(histogram.entropy, 2, accuracy: 1e-12)
        XCTAssertEqual(histogram.counts[127], 100)
    }

    func testByteHistogramMatchesCountingOneByOne() {
        var generator = TestSupport.SeededGenerator(seed: 5)
        // Every length around the eight-byte words, a run of one value, and a long plane of skewed bytes.
        var planes: [[UInt8]] = (0..<20).map { n in (0..<n).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        planes.append([UInt8](repeating: 7, count: 1001))
        planes.append((0..<100_003).map { _ in UInt8(120 + Int.random(in: 0...3, using: &generator) * Int.random(in: 0...3, using: &generator)) })
        for plane in planes {
            var histogram = BitFieldHistogram(bits: 8)
            plane.withUnsafeBytes { histogram.add($0, elementBytes: 1, shift: 0) }
            plane.withUnsafeBytes { histogram.add($0, elementBytes: 1, shift: 0) }
            var expected = [Int](repeating: 0, count: 256)
            for byte in plane { expected[Int(byte)] += 2 }
            XCTAssertEqual(histogram.counts, expected, "\(plane.count) bytes")
        }
    }

    func testErrorStatistics() {
        var errors = ErrorStatistics()
        let a: [Float] = [3, 4, 0, .nan]
        let b: [Float] = [3, 4, 1, .nan]
        a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in errors.add(x, y) } }
        XCTAssertEqual(errors.maxAbsoluteError, 1)
        XCTAssertEqual(errors.rootMeanSquaredError, (1.0 / 4).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(errors.relativeError, 1.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(errors.signalToNoiseDecibels, 10 * log10(25.0), accuracy: 1e-9)
        XCTAssertEqual(errors.cosineSimilarity, 25 / (5 * 26.0.squareRoot()), accuracy: 1e-12)
        XCTAssertEqual(errors.nonFiniteMismatches, 0)
        var same = ErrorStatistics()
        a.withUnsafeBufferPointer { x in same.add(x, x) }
        XCTAssertEqual(same.signalToNoiseDecibels, .infinity)
        XCTAssertEqual(same.cosineSimilarity, 1, accuracy: 1e-12)
    }
}
