import TestSupport
import XCTest
@testable import NeuZip

final class ChecksumTests: XCTestCase {
    /// A `ChecksumStream` fed any split of some bytes gives the one-call seeded hash of all of them
    /// (the decoder hashes its output in stretches; the encoder hashes a chunk in one call).
    func testStreamOverPiecesEqualsOneCall() {
        var generator = TestSupport.SeededGenerator(seed: 5)
        for total in [0, 1, 240, 241, 1024, 100_003] {
            let bytes: [UInt8] = (0..<total).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let seed = UInt64.random(in: 0...UInt64.max, using: &generator)
            let expected = Checksum.of(bytes, seed: seed)
            for pieceLimit in [1, 7, 4096, 16384] {
                var stream = ChecksumStream(seed: seed)
                var offset = 0
                bytes.withUnsafeBytes { all in
                    while offset < total {
                        let piece = min(total - offset, Int.random(in: 1...pieceLimit, using: &generator))
                        stream.add(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + piece)]))
                        offset += piece
                    }
                }
                XCTAssertEqual(stream.value(), expected, "\(total) bytes in pieces of at most \(pieceLimit)")
            }
            XCTAssertNotEqual(Checksum.of(bytes, seed: seed &+ 1), expected, "the seed takes part")
        }
    }
}
