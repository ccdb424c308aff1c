import TestSupport
import XCTest
@testable import NeuZip

final class PlaneCensusTests: XCTestCase {
    /// BF16 values (little-endian bytes) with these exponents and random signs and mantissas.
    private func bfloat16(exponents: [UInt8], seed: UInt64) -> [UInt8] {
        var generator = TestSupport.SeededGenerator(seed: seed)
        return exponents.flatMap { exponent -> [UInt8] in
            let bits = UInt16(exponent) << 7 | UInt16.random(in: 0...0x7F, using: &generator) | (Bool.random(using: &generator) ? 0x8000 : 0)
            return [UInt8(truncatingIfNeeded: bits), UInt8(truncatingIfNeeded: bits >> 8)]
        }
    }

    /// The census `split` takes of plane 0 of `input`, the plane, and the census's counts.
    private func census(of input: [UInt8]) -> (plane: [UInt8], counts: [Int], exact: Bool) {
        let n = input.count / 2
        let planes = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * n)
        defer { planes.deallocate() }
        let census = input.withUnsafeBytes { BytePlanes.split($0, n, .bfloat16, planes) }
        let plane = UnsafeBufferPointer(start: planes, count: n)
        let (histogram, exact) = census.histogram(of: plane)
        return (Array(plane), histogram.counts, exact)
    }

    private func assertRoundTrips(_ input: [UInt8], _ message: String) throws {
        let encoded = input.withUnsafeBytes { FloatChunkCodec.encode($0, layout: .bfloat16) }
        var output = [UInt8](repeating: 0, count: input.count)
        try encoded.withUnsafeBytes { raw in try output.withUnsafeMutableBytes { try FloatChunkCodec.decode(raw, layout: .bfloat16, into: $0) } }
        XCTAssertEqual(output, input, message)
    }

    /// Exponents that only unsampled groups hold (a lone zero, one below the common range, one in the
    /// tail after the last whole group) still get a count, so the code covers them and the chunk round-trips.
    func testASampleCoversTheValuesItMissed() throws {
        var generator = TestSupport.SeededGenerator(seed: 8)
        let n = PlaneCensus.sampledMinimum * 2 + 5
        var exponents = (0..<n).map { _ in UInt8.random(in: 110...127, using: &generator) }
        exponents[20] = 105   // group 16..<32: not sampled
        exponents[40] = 0
        exponents[n - 1] = 128
        let input = bfloat16(exponents: exponents, seed: 9)
        let (plane, counts, exact) = census(of: input)
        XCTAssertEqual(plane, exponents)
        XCTAssertFalse(exact, "a large BF16 plane is sampled")
        for value in Set(exponents) { XCTAssertGreaterThan(counts[Int(value)], 0, "exponent \(value) has a count") }
        XCTAssertEqual(counts[106...109].filter { $0 > 0 }.count, 4, "the range's values that may occur have counts")
        XCTAssertEqual(counts[129...].reduce(0, +), 0, "nothing above the largest value")
        XCTAssertEqual(Double(counts.reduce(0, +)), Double(n), accuracy: Double(n) * 0.02, "scaled to the plane's size")
        try assertRoundTrips(input, "sampled BF16 chunk")
    }

    /// A range with more gaps than `maximumUnseen` (here one exponent far below the others) is counted
    /// again, exactly.
    func testAWideRangeIsCountedAgainExactly() throws {
        var generator = TestSupport.SeededGenerator(seed: 10)
        let n = PlaneCensus.sampledMinimum
        var exponents = (0..<n).map { _ in UInt8.random(in: 120...127, using: &generator) }
        exponents[20] = 3
        let input = bfloat16(exponents: exponents, seed: 11)
        let (_, counts, exact) = census(of: input)
        XCTAssertTrue(exact)
        var expected = [Int](repeating: 0, count: 256)
        for value in exponents { expected[Int(value)] += 1 }
        XCTAssertEqual(counts, expected)
        try assertRoundTrips(input, "BF16 chunk with a wide range")
    }

    /// A plane of one value is found constant from the range, whatever the sample saw.
    func testAConstantPlaneIsExact() throws {
        let input = bfloat16(exponents: [UInt8](repeating: 127, count: PlaneCensus.sampledMinimum), seed: 12)
        let (_, counts, _) = census(of: input)
        XCTAssertEqual(counts.filter { $0 > 0 }.count, 1)
        try assertRoundTrips(input, "constant exponents")
    }
}
