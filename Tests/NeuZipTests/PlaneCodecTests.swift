import TestSupport
import XCTest
@testable import NeuZip

final class PlaneCodecTests: XCTestCase {
    private func encoding(of plane: [UInt8]) throws -> (PlaneEncoding?, [UInt8]) {
        var out: [UInt8] = []
        plane.withUnsafeBufferPointer { PlaneCodec.encode($0, into: &out) }
        var decoded = [UInt8](repeating: 0, count: plane.count)
        try out.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            try decoded.withUnsafeMutableBufferPointer { try PlaneCodec.decode(&reader, into: $0) }
        }
        XCTAssertEqual(decoded, plane)
        return (PlaneEncoding(rawValue: out[0]), out)
    }

    /// Each plane gets the coder its statistics call for, and round-trips: Huffman for a few skewed
    /// symbols; rANS where one symbol dominates (Huffman spends at least a bit a symbol); raw for random
    /// bytes, large or small; a constant for one repeated byte.
    func testEachPlaneGetsTheCoderItsStatisticsCallFor() throws {
        var generator = TestSupport.SeededGenerator(seed: 8)
        // Probabilities 1/2, 1/4, 1/8...: the case Huffman codes exactly.
        let skewed: [UInt8] = (0..<50_000).map { _ in UInt8(100 + min(11, UInt64.random(in: 0...UInt64.max, using: &generator).trailingZeroBitCount)) }
        XCTAssertEqual(try encoding(of: skewed).0, .huffman)
        let dominated: [UInt8] = (0..<50_000).map { _ in Double.random(in: 0..<1, using: &generator) < 0.99 ? 7 : 9 }
        XCTAssertEqual(try encoding(of: dominated).0, .rans)
        for count in [300, 20_000, 200_000] {
            let random: [UInt8] = (0..<count).map { _ in UInt8.random(in: 1...255, using: &generator) }
            XCTAssertEqual(try encoding(of: random).0, .raw, "\(count) random bytes")
        }
        XCTAssertEqual(try encoding(of: [UInt8](repeating: 42, count: 1000)).0, .constant)
    }
}
