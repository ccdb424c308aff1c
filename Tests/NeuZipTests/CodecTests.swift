import NeuZip
import TestSupport
import XCTest

final class CodecTests: XCTestCase {
    private func gaussianBits(_ n: Int, layout: FloatLayout, seed: UInt64) -> [UInt8] {
        var generator = TestSupport.SeededGenerator(seed: seed)
        var out = [UInt8]()
        for _ in 0..<n {
            let u = Double.random(in: Double.ulpOfOne..<1, using: &generator), v = Double.random(in: 0..<1, using: &generator)
            let value = Float(0.02 * (-2 * log(u)).squareRoot() * cos(2 * .pi * v))
            let bits = value.bitPattern
            switch layout {
            case .float32: withUnsafeBytes(of: bits.littleEndian) { out += $0 }
            case .bfloat16: withUnsafeBytes(of: UInt16(truncatingIfNeeded: bits >> 16).littleEndian) { out += $0 }
            default: withUnsafeBytes(of: Float16(value).bitPattern.littleEndian) { out += $0 }
            }
        }
        return out
    }

    func testRANSRoundTripsSkewedAndUniformData() throws {
        var generator = TestSupport.SeededGenerator(seed: 11)
        for n in [2, 3, 5, 17, 1000, 65537] {
            let skewed: [UInt8] = (0..<n).map { i in i == 0 ? 0 : UInt8(min(255, Int(-log(Double.random(in: 0.0001..<1, using: &generator)) * 3))) }
            let uniform: [UInt8] = (0..<n).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for data in [skewed, uniform] {
                guard let encoded = data.withUnsafeBufferPointer({ RANS.encode($0) }) else { continue }
                var decoded = [UInt8](repeating: 0, count: n)
                try encoded.withUnsafeBytes { raw in try decoded.withUnsafeMutableBufferPointer { try RANS.decode(raw, into: $0) } }
                XCTAssertEqual(decoded, data, "n = \(n)")
            }
        }
    }

    /// A symbol more frequent than one half drives states past 2^31, where a 32-bit reciprocal division
    /// is off by one for some states (it corrupted the mantissa planes of a Q8_0 embedding expanded to
    /// F32); the encoder's division is exact for every state.
    func testRANSRoundTripsVeryFrequentSymbols() throws {
        var generator = TestSupport.SeededGenerator(seed: 13)
        for p in [0.6, 0.876, 0.95, 0.999] {
            let data: [UInt8] = (0..<(1 << 18)).map { _ in
                let u = Double.random(in: 0..<1, using: &generator)
                return u < p ? 7 : UInt8(8 + Int(u * 1000) % 3)
            }
            let encoded = try XCTUnwrap(data.withUnsafeBufferPointer { RANS.encode($0) })
            var decoded = [UInt8](repeating: 0, count: data.count)
            try encoded.withUnsafeBytes { raw in try decoded.withUnsafeMutableBufferPointer { try RANS.decode(raw, into: $0) } }
            XCTAssertEqual(decoded, data, "p = \(p)")
        }
    }

    func testRANSIsCloseToTheEntropy() throws {
        var generator = TestSupport.SeededGenerator(seed: 12)
        let n = 1 << 18
        let data: [UInt8] = (0..<n).map { _ in UInt8(min(40, Int(-log(Double.random(in: 0.00001..<1, using: &generator)) * 2))) }
        var counts = [Int](repeating: 0, count: 256)
        for b in data { counts[Int(b)] += 1 }
        let entropy = counts.reduce(0.0) { $1 == 0 ? $0 : $0 - Double($1) / Double(n) * log2(Double($1) / Double(n)) }
        let encoded = try XCTUnwrap(data.withUnsafeBufferPointer { RANS.encode($0) })
        let bitsPerSymbol = Double(encoded.count * 8) / Double(n)
        XCTAssertLessThan(bitsPerSymbol - entropy, 0.01, "rANS \(bitsPerSymbol) bits vs entropy \(entropy)")
    }

    func testLosslessFloatChunksRoundTripEveryLayout() throws {
        for layout in [FloatLayout.bfloat16, .float16, .float32] {
            for n in [0, 1, 7, 4096, 10001] {
                var input = gaussianBits(n, layout: layout, seed: UInt64(n))
                // Specials: NaN with payload, infinities, -0, subnormals.
                if n > 6 {
                    let specials: [UInt32] = layout == .float32 ? [0x7FC0_1234, 0x7F80_0000, 0xFF80_0000, 0x8000_0000, 0x0000_0001, 0x807F_FFFF, 0x7F80_0001]
                        : layout == .bfloat16 ? [0x7FC1, 0x7F80, 0xFF80, 0x8000, 0x0001, 0x807F, 0x7F81] : [0x7E01, 0x7C00, 0xFC00, 0x8000, 0x0001, 0x83FF, 0x7C01]
                    for (k, bits) in specials.enumerated() {
                        for b in 0..<layout.byteWidth { input[k * layout.byteWidth + b] = UInt8(truncatingIfNeeded: bits >> UInt32(8 * b)) }
                    }
                }
                let encoded = input.withUnsafeBytes { FloatChunkCodec.encode($0, layout: layout) }
                var output = [UInt8](repeating: 0xAA, count: input.count)
                // `finished` gets the output in consecutive stretches, from the start to the end.
                var handed = 0
                try encoded.withUnsafeBytes { raw in
                    try output.withUnsafeMutableBytes { output in
                        try FloatChunkCodec.decode(raw, layout: layout, into: output) { stretch in
                            XCTAssertEqual(stretch.baseAddress, output.baseAddress! + handed, "\(layout) n=\(n) stretch order")
                            handed += stretch.count
                        }
                    }
                }
                XCTAssertEqual(handed, input.count, "\(layout) n=\(n) stretches cover the output")
                XCTAssertEqual(output, input, "\(layout) n=\(n)")
                if n == 10001 && layout == .bfloat16 {
                    XCTAssertLessThan(Double(encoded.count) / Double(input.count), 0.70, "BF16 Gaussian weights compress")
                }
            }
        }
    }

    /// Chunks of earlier format versions still decode, bit for bit, specials included: the first version
    /// (mode 0: BF16's and F32's sign on top of its byte) and F16 chunks of the second (mode 2: the high
    /// byte whole, no signs' plane). Built by hand from man/nz.5's layout, with raw planes.
    func testEarlierVersionChunksStillDecode() throws {
        for layout in [FloatLayout.bfloat16, .float32, .float16] {
            var input = gaussianBits(1000, layout: layout, seed: 9)
            let specials: [UInt32] = layout == .float32 ? [0x7FC0_1234, 0xFF80_0000, 0x8000_0000, 0x807F_FFFF]
                : layout == .bfloat16 ? [0x7FC1, 0xFF80, 0x8000, 0x807F] : [0x7E01, 0xFC00, 0x8000, 0x83FF]
            for (k, bits) in specials.enumerated() {
                for b in 0..<layout.byteWidth { input[k * layout.byteWidth + b] = UInt8(truncatingIfNeeded: bits >> UInt32(8 * b)) }
            }
            let n = input.count / layout.byteWidth
            let values: [UInt32] = (0..<n).map { i in (0..<layout.byteWidth).reduce(0) { $0 | UInt32(input[i * layout.byteWidth + $1]) << UInt32(8 * $1) } }
            let planes: [[UInt8]] = switch layout {
            case .bfloat16: [values.map { UInt8(truncatingIfNeeded: $0 >> 7) }, values.map { UInt8(truncatingIfNeeded: ($0 >> 8) & 0x80 | $0 & 0x7F) }]
            case .float16: [values.map { UInt8(truncatingIfNeeded: $0 >> 8) }, values.map { UInt8(truncatingIfNeeded: $0) }]
            default: [values.map { UInt8(truncatingIfNeeded: $0 >> 23) }, values.map { UInt8(truncatingIfNeeded: $0) }, values.map { UInt8(truncatingIfNeeded: $0 >> 8) },
                      values.map { UInt8(truncatingIfNeeded: ($0 >> 24) & 0x80 | ($0 >> 16) & 0x7F) }]
            }
            for mode: UInt8 in layout == .float16 ? [0, 2] : [0] {
                var chunk: [UInt8] = [mode]
                for plane in planes {
                    chunk.append(PlaneEncoding.raw.rawValue)
                    withUnsafeBytes(of: UInt32(plane.count).littleEndian) { chunk += $0 }
                    chunk += plane
                }
                var output = [UInt8](repeating: 0, count: input.count)
                try chunk.withUnsafeBytes { raw in try output.withUnsafeMutableBytes { try FloatChunkCodec.decode(raw, layout: layout, into: $0) } }
                XCTAssertEqual(output, input, "\(layout) mode \(mode)")
            }
        }
    }

    /// This version writes F16 chunks with the signs apart (mode 3) and the others in mode 2; mode 3 is
    /// F16's alone, and a BF16 chunk that claims it is refused, not misread.
    func testSignsApartAreF16Only() throws {
        for layout in [FloatLayout.bfloat16, .float16, .float32] {
            let input = gaussianBits(100, layout: layout, seed: 3)
            let encoded = input.withUnsafeBytes { FloatChunkCodec.encode($0, layout: layout) }
            XCTAssertEqual(encoded.first, layout == .float16 ? 3 : 2, "\(layout)")
        }
        var chunk = gaussianBits(100, layout: .float16, seed: 3).withUnsafeBytes { FloatChunkCodec.encode($0, layout: .float16) }
        chunk[0] = 3
        var output = [UInt8](repeating: 0, count: 200)
        XCTAssertThrowsError(try chunk.withUnsafeBytes { raw in try output.withUnsafeMutableBytes { try FloatChunkCodec.decode(raw, layout: .bfloat16, into: $0) } }) {
            XCTAssertTrue("\($0)".contains("mode 3"), "\($0)")
        }
    }

    /// F32 weights where some rows were stored at lower precision (their low mantissa bytes zero, as in an
    /// embedding's untouched rows) have those planes coded by lz4 or zstd, which remove the runs, and the
    /// chunk still round-trips exactly.
    func testMantissaPlanesWithZeroRunsUseARepeatCoder() throws {
        var input = gaussianBits(65536, layout: .float32, seed: 5)
        for row in stride(from: 0, to: 256, by: 9) {
            for i in (row * 256)..<(row * 256 + 256) { input[4 * i] = 0; input[4 * i + 1] = 0 }
        }
        let encoded = input.withUnsafeBytes { FloatChunkCodec.encode($0, layout: .float32) }
        var tags: [UInt8] = []
        var offset = 1
        while offset < encoded.count {
            tags.append(encoded[offset])
            let length = encoded[(offset + 1)...(offset + 4)].reversed().reduce(0) { $0 << 8 | Int($1) }
            offset += 5 + length
        }
        XCTAssertEqual(tags.count, 4)
        XCTAssertTrue([PlaneEncoding.lz4.rawValue, PlaneEncoding.zstd.rawValue].contains(tags[1]), "plane tags \(tags)")
        XCTAssertEqual(tags[0], PlaneEncoding.huffman.rawValue)
        var output = [UInt8](repeating: 0, count: input.count)
        try encoded.withUnsafeBytes { raw in try output.withUnsafeMutableBytes { try FloatChunkCodec.decode(raw, layout: .float32, into: $0) } }
        XCTAssertEqual(output, input)
    }

    /// Lossy chunks decode to exactly what the scalar rounding reference gives, keep non-finite values,
    /// and never turn a finite value into infinity.
    func testLossyChunksMatchTheRoundingReference() throws {
        for layout in [FloatLayout.bfloat16, .float16, .float32] {
            var input = gaussianBits(3000, layout: layout, seed: 99)
            let largest: UInt32 = (layout.exponentMaskForTests - 1) << UInt32(layout.mantissaBits) | ((1 << UInt32(layout.mantissaBits)) - 1)
            let specials: [UInt32] = [largest, largest | 1 << UInt32(layout.exponentBits + layout.mantissaBits), layout.exponentMaskForTests << UInt32(layout.mantissaBits) | 1, 1]
            for (k, bits) in specials.enumerated() {
                for b in 0..<layout.byteWidth { input[k * layout.byteWidth + b] = UInt8(truncatingIfNeeded: bits >> UInt32(8 * b)) }
            }
            for kept in [0, 1, 3, layout.mantissaBits - 1] {
                let encoded = input.withUnsafeBytes { FloatChunkCodec.encode($0, layout: layout, keptBits: kept) }
                var output = [UInt8](repeating: 0, count: input.count)
                try encoded.withUnsafeBytes { raw in try output.withUnsafeMutableBytes { try FloatChunkCodec.decode(raw, layout: layout, into: $0) } }
                for i in 0..<(input.count / layout.byteWidth) {
                    var bits: UInt32 = 0, got: UInt32 = 0
                    for b in 0..<layout.byteWidth {
                        bits |= UInt32(input[i * layout.byteWidth + b]) << UInt32(8 * b)
                        got |= UInt32(output[i * layout.byteWidth + b]) << UInt32(8 * b)
                    }
                    XCTAssertEqual(got, referenceRound(bits, layout, kept), "\(layout) kept \(kept) value \(i)")
                }
            }
        }
    }

    /// Independent scalar reference: round the magnitude half away from zero in units of the last kept
    /// bit; keep non-finite values; truncate where rounding would overflow.
    private func referenceRound(_ bits: UInt32, _ layout: FloatLayout, _ kept: Int) -> UInt32 {
        let m = layout.mantissaBits, e = layout.exponentBits
        let exponent = (bits >> UInt32(m)) & ((1 << UInt32(e)) - 1)
        if exponent == (1 << UInt32(e)) - 1 { return bits }
        let sign = bits >> UInt32(e + m)
        let magnitude = UInt64(bits & ((1 << UInt32(e + m)) - 1))
        let unit = UInt64(1) << UInt64(m - kept)
        var rounded = (magnitude + unit / 2) / unit * unit
        if rounded >> UInt64(m) >= (1 << UInt64(e)) - 1 { rounded = magnitude / unit * unit }
        return sign << UInt32(e + m) | UInt32(rounded)
    }

    func testCorruptChunksAreDetected() throws {
        let input = gaussianBits(2000, layout: .bfloat16, seed: 5)
        let encoded = input.withUnsafeBytes { FloatChunkCodec.encode($0, layout: .bfloat16) }
        // Every single-byte corruption either throws or decodes to some values without crashing; the
        // container's checksum catches the silent ones (tested end to end).
        for position in 0..<encoded.count {
            var damaged = encoded
            damaged[position] ^= 0x5A
            var output = [UInt8](repeating: 0, count: input.count)
            _ = try? damaged.withUnsafeBytes { raw in try output.withUnsafeMutableBytes { try FloatChunkCodec.decode(raw, layout: .bfloat16, into: $0) } }
        }
        for length in 0..<encoded.count {
            var output = [UInt8](repeating: 0, count: input.count)
            XCTAssertThrowsError(try Array(encoded[0..<length]).withUnsafeBytes { raw in
                try output.withUnsafeMutableBytes { try FloatChunkCodec.decode(raw, layout: .bfloat16, into: $0) }
            }, "truncated at \(length)")
        }
    }
}

extension FloatLayout {
    var exponentMaskForTests: UInt32 { (1 << UInt32(exponentBits)) - 1 }
}
