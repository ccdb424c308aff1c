import TestSupport
import XCTest
@testable import NeuZip

final class PlaneProbeTests: XCTestCase {
    private func plane(_ count: Int, seed: UInt64, _ byte: (inout TestSupport.SeededGenerator) -> UInt8) -> [UInt8] {
        var generator = TestSupport.SeededGenerator(seed: seed)
        return (0..<count).map { _ in byte(&generator) }
    }

    /// The sample calls random bytes incompressible, and sees a saving of a few percent anywhere in the
    /// plane (its blocks cover the whole plane); small planes are always left to the full count.
    func testSampleTellsRandomBytesFromCompressibleOnes() {
        let random = plane(1 << 17, seed: 1) { UInt8.random(in: 0...255, using: &$0) }
        random.withUnsafeBufferPointer { XCTAssertTrue(PlaneProbe.looksIncompressible($0, minimumSaving: 0.01)) }
        // 200 equally likely values: log2(200) = 7.64 bits, a saving of 4.5%.
        let narrow = plane(1 << 17, seed: 2) { UInt8.random(in: 0..<200, using: &$0) }
        narrow.withUnsafeBufferPointer { XCTAssertFalse(PlaneProbe.looksIncompressible($0, minimumSaving: 0.01)) }
        // Random except for its last quarter, which uses 16 values: about 7 bits a byte over the plane.
        var tail = random
        for i in (3 * tail.count / 4)..<tail.count { tail[i] &= 15 }
        tail.withUnsafeBufferPointer { XCTAssertFalse(PlaneProbe.looksIncompressible($0, minimumSaving: 0.01)) }
        let small = plane(1 << 14, seed: 3) { UInt8.random(in: 0...255, using: &$0) }
        small.withUnsafeBufferPointer { XCTAssertFalse(PlaneProbe.looksIncompressible($0, minimumSaving: 0.01)) }
    }

    /// A run of 72 zero bytes is found wherever it starts; random bytes have none.
    func testZeroRunsOfSeventyTwoBytesAreAlwaysFound() {
        let random = plane(4096, seed: 4) { UInt8.random(in: 1...255, using: &$0) }
        random.withUnsafeBufferPointer { XCTAssertFalse(PlaneProbe.hasZeroRuns($0)) }
        for start in [0, 1, 7, 63, 100, 4096 - 72] {
            var withRun = random
            for i in start..<(start + 72) { withRun[i] = 0 }
            withRun.withUnsafeBufferPointer { XCTAssertTrue(PlaneProbe.hasZeroRuns($0), "run at \(start)") }
        }
    }
}
