import Kernels
import TestSupport
import XCTest

final class NarrowFloatTests: XCTestCase {
    func testBFloat16RoundsToNearestEven() {
        // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
        XCTAssertEqual(NarrowFloat.floatToBFloat16(1 + 0x1p-8), 0x3F80)
        // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up.
        XCTAssertEqual(NarrowFloat.floatToBFloat16(1 + 3 * 0x1p-8), 0x3F82)
        XCTAssertEqual(NarrowFloat.floatToBFloat16(1 + 0x1p-8 + 0x1p-20), 0x3F81)
        XCTAssertEqual(NarrowFloat.floatToBFloat16(-0.0), 0x8000)
        XCTAssertEqual(NarrowFloat.floatToBFloat16(.infinity), 0x7F80)
        XCTAssertEqual(NarrowFloat.floatToBFloat16(.greatestFiniteMagnitude), 0x7F80, "overflow rounds to infinity")
        XCTAssertTrue(NarrowFloat.bfloat16ToFloat(NarrowFloat.floatToBFloat16(Float(bitPattern: 0x7F80_0001))).isNaN,
                      "a NaN whose payload sits in the dropped bits stays NaN")
    }

    func testBFloat16RoundTripsEveryPattern() {
        for bits in 0...UInt16.max {
            let value = NarrowFloat.bfloat16ToFloat(bits)
            if value.isNaN { continue }
            XCTAssertEqual(NarrowFloat.floatToBFloat16(value), bits)
        }
    }

    func testHalfRoundTripsAndRounds() {
        for bits in 0...UInt16.max {
            let value = NarrowFloat.halfToFloat(bits)
            if value.isNaN { continue }
            XCTAssertEqual(NarrowFloat.floatToHalf(value), bits)
        }
        XCTAssertEqual(NarrowFloat.floatToHalf(1 + 0x1p-11), 0x3C00, "tie to even")
        XCTAssertEqual(NarrowFloat.floatToHalf(70000), 0x7C00, "overflow to infinity")
        XCTAssertEqual(NarrowFloat.floatToHalf(0x1p-25), 0x0000, "half the smallest subnormal ties to zero")
        XCTAssertEqual(NarrowFloat.floatToHalf(0x1p-25 + 0x1p-40), 0x0001)
    }

    func testFloat8DecodesKnownValues() {
        XCTAssertEqual(Float8Format.e4m3fn.largestFinite, 448)
        XCTAssertEqual(Float8Format.e5m2.largestFinite, 57344)
        XCTAssertEqual(Float8Format.e4m3fn.decode(0x7E), 448)
        XCTAssertTrue(Float8Format.e4m3fn.decode(0x7F).isNaN)
        XCTAssertEqual(Float8Format.e4m3fn.decode(0x01), 0x1p-9, "smallest subnormal")
        XCTAssertEqual(Float8Format.e5m2.decode(0x7C), .infinity)
        XCTAssertTrue(Float8Format.e5m2.decode(0x7D).isNaN)
        XCTAssertEqual(Float8Format.e5m2.decode(0x01), 0x1p-16)
        XCTAssertEqual(Float8Format.e4m3fn.decode(0x38), 1)
        XCTAssertEqual(Float8Format.e5m2.decode(0x3C), 1)
    }

    func testFloat8RoundTripsEveryPattern() {
        for format in [Float8Format.e4m3fn, .e5m2] {
            for bits in 0...UInt8.max {
                let value = format.decode(bits)
                if value.isNaN { continue }
                XCTAssertEqual(format.encode(value), bits, "\(format) 0x\(String(bits, radix: 16))")
            }
        }
    }

    /// Against a brute-force reference: the nearest representable value, ties to the even pattern.
    func testFloat8EncodesToNearestEven() {
        var generator = TestSupport.SeededGenerator(seed: 8)
        for format in [Float8Format.e4m3fn, .e5m2] {
            let finite = (0...UInt8.max).filter { format.decode($0).isFinite && $0 & 0x80 == 0 }
            for trial in 0..<20000 {
                let magnitude: Float = trial % 2 == 0
                    ? Float.random(in: 0...(format.largestFinite * 1.05), using: &generator)
                    : trial % 3 == 0 ? format.decode(UInt8(trial % 127)) + Float(trial % 5) * 0x1p-12
                    : Float(sign: .plus, exponent: Int.random(in: -20...16, using: &generator), significand: Float.random(in: 1..<2, using: &generator))
                if !magnitude.isFinite { continue }
                let value = Bool.random(using: &generator) ? magnitude : -magnitude
                let encoded = format.encode(value)
                // Reference: the closest finite pattern; ties to the even (lower) mantissa bit.
                var best = finite[0]
                for candidate in finite {
                    let d = abs(format.decode(candidate) - magnitude), bestD = abs(format.decode(best) - magnitude)
                    if d < bestD || (d == bestD && candidate & 1 == 0) { best = candidate }
                }
                // Past the top value by half a step (ties to even) the result overflows.
                let top = finite.max { format.decode($0) < format.decode($1) }!
                let belowTop = finite.filter { $0 != top }.max { format.decode($0) < format.decode($1) }!
                let halfStepAbove = format.decode(top) + (format.decode(top) - format.decode(belowTop)) / 2
                if magnitude > halfStepAbove || (magnitude == halfStepAbove && top & 1 == 1) {
                    XCTAssertFalse(format.decode(encoded).isFinite, "\(value) overflows")
                    continue
                }
                let expected = value.sign == .minus && magnitude != 0 ? best | 0x80 : best
                XCTAssertEqual(encoded & 0x7F, expected & 0x7F, "\(value) in \(format)")
            }
        }
    }
}
