import Kernels
import TestSupport
import XCTest
@testable import NeuZip

final class BytePlanesTests: XCTestCase {
    /// `split` cuts every layout into the planes its documentation draws (checked against a scalar
    /// reference, vector part and tail alike), returns exactly plane 0's byte counts, and `merge` undoes it.
    func testSplitMatchesAScalarReferenceCountsPlaneZeroAndMergesBack() {
        var generator = TestSupport.SeededGenerator(seed: 21)
        for layout in [FloatLayout.bfloat16, .float16, .float32] {
            for n in [0, 1, 15, 16, 17, 4099] {
                let input: [UInt8] = (0..<(n * layout.byteWidth)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let values: [UInt32] = (0..<n).map { i in
                    (0..<layout.byteWidth).reduce(0) { $0 | UInt32(input[i * layout.byteWidth + $1]) << UInt32(8 * $1) }
                }
                let expected: [[UInt8]] = switch layout {
                case .bfloat16: [values.map { UInt8(truncatingIfNeeded: $0 >> 7) }, values.map { UInt8(truncatingIfNeeded: $0 << 1 | $0 >> 15) }]
                case .float16: [values.map { UInt8(truncatingIfNeeded: $0 >> 8) & 0x7F }, values.map { UInt8(truncatingIfNeeded: $0) },
                                stride(from: 0, to: n, by: 8).map { start in
                                    (start..<min(n, start + 8)).reduce(UInt8(0)) { $0 | UInt8(values[$1] >> 15) << UInt8($1 - start) }
                                }]
                default: [values.map { UInt8(truncatingIfNeeded: $0 >> 23) }, values.map { UInt8(truncatingIfNeeded: $0) },
                          values.map { UInt8(truncatingIfNeeded: $0 >> 8) }, values.map { UInt8(truncatingIfNeeded: $0 >> 15 & 0xFE | $0 >> 31) }]
                }
                let cut = BytePlanes.Cut.current(layout)
                let count = BytePlanes.count(layout, cut)
                let planes = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, count * n))
                defer { planes.deallocate() }
                let census = input.withUnsafeBytes { BytePlanes.split($0, n, layout, planes) }
                for k in 0..<count {
                    let size = BytePlanes.size(ofPlane: k, layout, cut, values: n)
                    XCTAssertEqual(Array(UnsafeBufferPointer(start: planes + k * n, count: size)), expected[k], "\(layout) n=\(n) plane \(k)")
                }
                var counts = [Int](repeating: 0, count: 256)
                for byte in expected[0] { counts[Int(byte)] += 1 }
                let (histogram, exact) = census.histogram(of: UnsafeBufferPointer(start: planes, count: n))
                XCTAssertTrue(exact, "\(layout) n=\(n): small planes are counted exactly")
                XCTAssertEqual(histogram.counts, counts, "\(layout) n=\(n) plane 0 counts")
                guard n > 0 else { continue }
                var output = [UInt8](repeating: 0, count: input.count)
                output.withUnsafeMutableBytes { BytePlanes.merge((0..<count).map { UnsafePointer(planes + $0 * n) }, 0..<n, layout, $0, cut: cut) }
                XCTAssertEqual(output, input, "\(layout) n=\(n) merge")
                // Ranges that start and end anywhere (F16's signs are joined sixteen at a time).
                for range in [1..<n, (n / 3)..<(2 * n / 3 + 1), (n - 1)..<n] where !range.isEmpty {
                    var part = [UInt8](repeating: 0, count: input.count)
                    part.withUnsafeMutableBytes { BytePlanes.merge((0..<count).map { UnsafePointer(planes + $0 * n) }, range, layout, $0, cut: cut) }
                    let bytes = (range.lowerBound * layout.byteWidth)..<(range.upperBound * layout.byteWidth)
                    XCTAssertEqual(part[bytes], input[bytes], "\(layout) n=\(n) merge of \(range)")
                }
            }
        }
    }
}
