import TestSupport
import XCTest
@testable import NeuZip

final class HuffmanTests: XCTestCase {
    private func encode(_ data: [UInt8]) -> [UInt8]? {
        var counts = [Int](repeating: 0, count: 256)
        for b in data { counts[Int(b)] += 1 }
        return counts.withUnsafeBufferPointer { c in
            Huffman.codeLengths(c).map { lengths in data.withUnsafeBufferPointer { Huffman.encode($0, lengths: lengths) } }
        }
    }

    private func decode(_ encoded: [UInt8], count: Int) throws -> [UInt8] {
        var decoded = [UInt8](repeating: 0xAA, count: count)
        try encoded.withUnsafeBytes { raw in try decoded.withUnsafeMutableBufferPointer { try Huffman.decode(raw, into: $0) } }
        return decoded
    }

    /// Skewed (exponent-like), wide (24 symbols, about 4.6 bits each: decoded with the three-symbol
    /// table), uniform and two-symbol data of every size around the four streams' and the fast loop's
    /// boundaries come back exactly.
    func testRoundTripsEverySizeAndShape() throws {
        var generator = TestSupport.SeededGenerator(seed: 21)
        for n in [2, 3, 4, 5, 7, 8, 15, 16, 17, 63, 64, 65, 100, 1000, 4099, 65537] {
            let skewed: [UInt8] = (0..<n).map { i in i == 0 ? 0 : UInt8(min(255, Int(-log(Double.random(in: 0.0001..<1, using: &generator)) * 3))) }
            let wide: [UInt8] = (0..<n).map { _ in UInt8.random(in: 40..<64, using: &generator) }
            let uniform: [UInt8] = (0..<n).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let binary: [UInt8] = (0..<n).map { i in i % 7 == 0 ? 9 : 200 }
            for data in [skewed, wide, uniform, binary] {
                guard let encoded = encode(data) else { continue }
                XCTAssertEqual(try decode(encoded, count: n), data, "n = \(n)")
            }
        }
    }

    /// Counts that want codes far longer than 12 bits (Fibonacci-like) get a prefix code within 12 bits that
    /// still round-trips; on exponent-like data the code stays within 5% of the entropy.
    func testLengthsAreLimitedAndCloseToTheEntropy() throws {
        var counts = [Int](repeating: 0, count: 256)
        var a = 1, b = 1
        for s in 0..<30 { counts[s] = a; (a, b) = (b, a + b) }
        let lengths = try XCTUnwrap(counts.withUnsafeBufferPointer { Huffman.codeLengths($0) })
        XCTAssertLessThanOrEqual(lengths.max()!, UInt8(Huffman.maxLength))
        let kraft = lengths.reduce(0.0) { $1 == 0 ? $0 : $0 + pow(2, -Double($1)) }
        XCTAssertLessThanOrEqual(kraft, 1.0)
        XCTAssertGreaterThan(kraft, 0.999, "the limited code wastes no code space")
        var data: [UInt8] = []
        for s in 0..<30 { data += [UInt8](repeating: UInt8(s), count: counts[s] / 1000 + 1) }
        var shuffler = TestSupport.SeededGenerator(seed: 3)
        data.shuffle(using: &shuffler)
        XCTAssertEqual(try decode(try XCTUnwrap(encode(data)), count: data.count), data)

        var generator = TestSupport.SeededGenerator(seed: 22)
        let n = 1 << 18
        let exponents: [UInt8] = (0..<n).map { _ in UInt8(120 - min(40, Int(-log2(Double.random(in: 0.00001..<1, using: &generator)) * 1.3))) }
        var histogram = [Int](repeating: 0, count: 256)
        for e in exponents { histogram[Int(e)] += 1 }
        let entropy = histogram.reduce(0.0) { $1 == 0 ? $0 : $0 - Double($1) / Double(n) * log2(Double($1) / Double(n)) }
        let bits = Double(try XCTUnwrap(encode(exponents)).count * 8) / Double(n)
        XCTAssertLessThan(bits / entropy, 1.05, "Huffman \(bits) bits vs entropy \(entropy)")
    }

    /// Every entry of both multi-symbol tables holds what decoding its bits one code at a time yields:
    /// the longest run of whole codes that fits (up to four in 12 bits, or three in 13), and an entry
    /// that consumes all its bits and writes nothing where no code starts, for complete and incomplete
    /// codes, short and long.
    func testMultiSymbolTablesMatchOneCodeAtATimeDecoding() throws {
        var skewed = [UInt8](repeating: 0, count: 256)
        for (s, length) in [1, 2, 3, 5, 5, 6, 7, 8, 9, 10, 11, 12, 12].enumerated() { skewed[100 + s] = UInt8(length) }
        var flat = [UInt8](repeating: 0, count: 256)
        for s in 0..<16 { flat[s * 3] = 4 }
        var incomplete = [UInt8](repeating: 0, count: 256)
        (incomplete[7], incomplete[8], incomplete[9]) = (2, 3, 12)
        for lengths in [skewed, flat, incomplete] {
            let codes = Huffman.encodingTable(lengths)
            let single = Huffman.DecodingTables(lengths, codes, multiSymbol: false).single
            let four: [Huffman.FourSymbolEntry] = Huffman.DecodingTables.filled(lengths, codes)
            let three: [Huffman.ThreeSymbolEntry] = Huffman.DecodingTables.filled(lengths, codes)
            checkTable(four, single)
            checkTable(three, single)
        }
    }

    private func checkTable<Entry: Huffman.MultiSymbolEntry>(_ table: [Entry], _ single: [UInt16], line: UInt = #line) {
        XCTAssertEqual(table.count, 1 << Entry.indexBits)
        for index in table.indices {
            var used = 0, symbols: [UInt8] = []
            while symbols.count < Entry.maxSymbols {
                let entry = single[(index >> used) & (Huffman.tableSize - 1)]
                let length = Int(entry >> 8)
                if length == 0 || used + length > Entry.indexBits { break }
                symbols.append(UInt8(entry & 0xFF))
                used += length
            }
            let entry = table[index]
            XCTAssertEqual(entry.count, symbols.count, "\(Entry.self) index \(index)", line: line)
            XCTAssertEqual(Int(entry.shift & 63), symbols.isEmpty ? Entry.indexBits : used, "\(Entry.self) index \(index)", line: line)
            XCTAssertEqual((0..<symbols.count).map { UInt8(truncatingIfNeeded: entry.stored >> (8 * UInt32($0))) }, symbols,
                           "\(Entry.self) index \(index)", line: line)
        }
    }

    /// The decoder takes the 13-bit three-symbol table for long codes (F16's exponent with two mantissa
    /// bits, about 4.6 bits a value) and the 12-bit four-symbol one for short codes (BF16's exponent).
    func testTableShapeFollowsCodeLengths() throws {
        func shape(_ histogram: [Int: Int]) throws -> String {
            var counts = [Int](repeating: 0, count: 256)
            for (symbol, count) in histogram { counts[symbol] = count }
            let lengths = try XCTUnwrap(counts.withUnsafeBufferPointer { Huffman.codeLengths($0) })
            switch Huffman.DecodingTables(lengths, Huffman.encodingTable(lengths), multiSymbol: true).multiple {
            case .none: return "none"
            case .four: return "four"
            case .three: return "three"
            }
        }
        // Geometric: about 2 bits a symbol.
        XCTAssertEqual(try shape(Dictionary(uniqueKeysWithValues: (0..<12).map { (120 + $0, 1 << (20 - $0)) })), "four")
        // Nearly flat over 24 symbols: about 4.6 bits a symbol.
        XCTAssertEqual(try shape(Dictionary(uniqueKeysWithValues: (0..<24).map { (40 + $0, 1000 + 10 * $0) })), "three")
    }

    /// Every single-byte change and every truncation of a small stream either throws or decodes to some
    /// bytes, never reads or writes out of bounds (the container's checksum then rejects wrong bytes);
    /// changes to the lengths table or stream sizes that break the layout always throw.
    func testCorruptionAndTruncationAreSafe() throws {
        var generator = TestSupport.SeededGenerator(seed: 23)
        let data: [UInt8] = (0..<300).map { _ in UInt8(min(20, Int(-log(Double.random(in: 0.001..<1, using: &generator)) * 2))) }
        let encoded = try XCTUnwrap(encode(data))
        for cut in 0..<encoded.count {
            XCTAssertThrowsError(try decode(Array(encoded[0..<cut]), count: data.count), "cut at \(cut)")
        }
        var detected = 0
        for position in 0..<encoded.count {
            for flip: UInt8 in [1, 0x80] {
                var corrupt = encoded
                corrupt[position] ^= flip
                if (try? decode(corrupt, count: data.count)) == nil { detected += 1 }
            }
            let tableBytes = 2 + (Int(encoded[1]) + 2) / 2
            if (tableBytes..<(tableBytes + Huffman.sizeFieldBytes)).contains(position) {
                var corrupt = encoded
                corrupt[position] ^= 1
                XCTAssertThrowsError(try decode(corrupt, count: data.count), "stream size byte \(position)")
            }
        }
        XCTAssertGreaterThan(detected, 0)
    }

    /// Bit reversal (codes go out least significant bit first) against a bit-by-bit reference.
    func testReversedBitsMatchesABitByBitReference() {
        for count in 1...Huffman.maxLength {
            for value in 0..<(1 << count) {
                let reference = (0..<count).reduce(0) { reversed, bit in reversed | ((value >> bit) & 1) << (count - 1 - bit) }
                XCTAssertEqual(Huffman.reversedBits(value, count: count), reference, "\(value) in \(count) bits")
            }
        }
    }

    /// The canonical codes of known lengths, as the format fixes them (deflate's assignment, bit-reversed).
    func testCanonicalCodesOfKnownLengths() {
        var lengths = [UInt8](repeating: 0, count: 256)
        (lengths[10], lengths[20], lengths[30], lengths[40]) = (1, 2, 3, 3)
        let codes = Huffman.encodingTable(lengths)
        // Canonical 0, 10, 110, 111, written least significant bit first.
        let expected: [UInt32] = [0 | 1 << 16, 0b01 | 2 << 16, 0b011 | 3 << 16, 0b111 | 3 << 16]
        XCTAssertEqual([codes[10], codes[20], codes[30], codes[40]], expected)
    }
}
