/// The Huffman decoder's lookup tables. A multi-symbol table decodes planes of `multiSymbolMinimum`
/// symbols or more, several whole codes a lookup (near the streams' ends with every lookup checked); a
/// one-symbol table over the next 12 bits (`maxLength`) decodes smaller planes and the last few symbols
/// of each stream. The multi-symbol table comes in two shapes of the same 32 KiB (which stays in the L1
/// cache):
///
/// - `FourSymbolEntry`: 12 bits, up to four symbols, 8 bytes an entry. Best for short codes (BF16 and
///   F32 exponents average about 2.6 bits: a lookup yields 3.7 symbols).
/// - `ThreeSymbolEntry`: 13 bits, up to three symbols, 4 bytes an entry. Best for longer codes (F16's
///   exponent with two mantissa bits averages about 4.6 bits: 12 bits hold 2.3 of them on average,
///   13 bits 2.5).
///
/// The decoder picks the shape with more symbols a lookup (`expectedSymbols`), from the code lengths alone.
extension Huffman {
    /// An entry of a multi-symbol table: the whole codes (at most `maxSymbols`) that the `indexBits` bits
    /// indexing it begin with, decoded greedily, and the bits they use.
    protocol MultiSymbolEntry {
        /// Bits of a stream that index the table.
        static var indexBits: Int { get }
        static var maxSymbols: Int { get }
        init(symbols: UInt32, used: Int, count: Int)
        /// The symbols, first in the lowest byte, as the fast loop stores them: 4 bytes, those past
        /// `count` anything (the next store overwrites them).
        var stored: UInt32 { get }
        var count: Int { get }
        /// A shift count that is the bits used modulo 64 (x86 shifts take their count modulo 64, so the
        /// fast loop shifts by it without masking).
        var shift: UInt64 { get }
    }

    /// Up to four symbols from 12 bits: bits used (bits 0-5), symbol count (8-15), their bytes (32-63).
    /// The shift by the entry itself shifts by the bits used, and the count is the entry's second byte.
    struct FourSymbolEntry: MultiSymbolEntry {
        let raw: UInt64
        static var indexBits: Int { 12 }
        static var maxSymbols: Int { 4 }

        @inline(__always) init(symbols: UInt32, used: Int, count: Int) {
            raw = UInt64(used) | UInt64(count) &<< 8 | UInt64(symbols) &<< 32
        }

        @inline(__always) var stored: UInt32 { UInt32(truncatingIfNeeded: raw &>> 32) }
        @inline(__always) var count: Int { Int(truncatingIfNeeded: (raw &>> 8) & 0xFF) }
        @inline(__always) var shift: UInt64 { raw }
    }

    /// Up to three symbols from 13 bits: their bytes (bits 0-23), bits used (24-29), symbol count (30-31).
    /// The entry is stored as it is (its top byte lands past the symbols), and the shift by its top byte
    /// shifts by the bits used.
    struct ThreeSymbolEntry: MultiSymbolEntry {
        let raw: UInt32
        static var indexBits: Int { 13 }
        static var maxSymbols: Int { 3 }

        @inline(__always) init(symbols: UInt32, used: Int, count: Int) {
            raw = symbols & 0xFF_FFFF | UInt32(used) &<< 24 | UInt32(count) &<< 30
        }

        @inline(__always) var stored: UInt32 { raw }
        @inline(__always) var count: Int { Int(truncatingIfNeeded: raw &>> 30) }
        @inline(__always) var shift: UInt64 { UInt64(raw &>> 24) }
    }

    /// The multi-symbol table a plane is decoded with.
    enum MultiSymbolTable {
        /// A plane too small for a table to pay off: decoded one symbol at a time.
        case none
        case four([FourSymbolEntry])
        case three([ThreeSymbolEntry])
    }

    /// The decoder's lookup tables for one code.
    struct DecodingTables {
        /// One symbol: symbol | length << 8 (length 0: no code starts with these bits).
        var single = [UInt16](repeating: 0, count: tableSize)
        var multiple = MultiSymbolTable.none

        /// Without `multiSymbol` only the one-symbol table is made.
        init(_ lengths: [UInt8], _ codes: [UInt32], multiSymbol: Bool) {
            single.withUnsafeMutableBufferPointer { single in
                for symbol in 0..<256 where lengths[symbol] > 0 {
                    let code = Int(codes[symbol] & 0xFFFF), length = Int(lengths[symbol])
                    let entry = UInt16(symbol) | UInt16(length) << 8
                    var index = code
                    while index < tableSize { single[index] = entry; index &+= 1 &<< length }
                }
            }
            guard multiSymbol else { return }
            if expectedSymbols(lengths, ThreeSymbolEntry.self) > expectedSymbols(lengths, FourSymbolEntry.self) {
                multiple = .three(Self.filled(lengths, codes))
            } else {
                multiple = .four(Self.filled(lengths, codes))
            }
        }

        /// The table of `Entry` for the code: bits that begin no code get an entry that consumes all
        /// `indexBits` and writes nothing (the streams' end check and the chunk checksum reject such data).
        ///
        /// Filled by walking the sequences of codes that fit in `indexBits`, each entry stored once: a
        /// sequence that no code can extend (`maxSymbols` symbols, or too few bits left: the most
        /// numerous) fills every entry that begins with its bits; one that codes can extend fills only
        /// the entries whose next bits begin no code short enough (`UncoveredStretches`), and leaves the
        /// rest to its extensions. The walk visits about as many sequences as there are entries, so it
        /// reads the codes from one flat buffer and stores the sequences that cannot be extended without
        /// a call each (measured: F16 decompression 3-7% faster than with a walk where every sequence filled
        /// all its entries and longer ones overwrote them, about four stores an entry).
        static func filled<Entry: MultiSymbolEntry>(_ lengths: [UInt8], _ codes: [UInt32]) -> [Entry] {
            let indexBits = Entry.indexBits, size = 1 << indexBits, last = Entry.maxSymbols - 1
            // Per present symbol, shortest code first: symbol | code << 8 | length << 24.
            let bySize: [Int] = (0..<256).filter { lengths[$0] > 0 }.sorted { lengths[$0] < lengths[$1] }
            let present: [UInt32] = bySize.map { symbol in
                let code: UInt32 = codes[symbol] & 0xFFFF, length = UInt32(lengths[symbol])
                return UInt32(symbol) | code << 8 | length << 24
            }
            let shortest = Int((present.first ?? 0) >> 24)
            let uncovered = UncoveredStretches(lengths)
            return [Entry](unsafeUninitializedCapacity: size) { table, initialized in
                table.initialize(repeating: Entry(symbols: 0, used: indexBits, count: 0))
                initialized = size
                present.withUnsafeBufferPointer { present in
                    let table = table.baseAddress!
                    @inline(__always) func store(_ entry: Entry, from prefix: Int, every step: Int) {
                        var index = prefix
                        while index < size { table[index] = entry; index &+= step }
                    }
                    func fill(prefix: Int, used: Int, count: Int, bytes: UInt32) {
                        // The table starts out invalid everywhere: the empty sequence has nothing to store.
                        if count > 0 {
                            let entry = Entry(symbols: bytes, used: used, count: count)
                            for stretch in uncovered[indexBits &- used] { table[prefix | Int(stretch) &<< used] = entry }
                        }
                        for symbol in present {
                            let length = Int(symbol &>> 24)
                            guard used &+ length <= indexBits else { break }
                            let next = prefix | Int(symbol &>> 8 & 0xFFFF) &<< used
                            let nextBytes = bytes | (symbol & 0xFF) &<< (8 &* UInt32(count))
                            if count == last || used &+ length &+ shortest > indexBits {
                                // Sequences that no code can extend are stored here, without a call.
                                store(Entry(symbols: nextBytes, used: used &+ length, count: count &+ 1), from: next, every: 1 &<< (used &+ length))
                            } else {
                                fill(prefix: next, used: used &+ length, count: count &+ 1, bytes: nextBytes)
                            }
                        }
                    }
                    fill(prefix: 0, used: 0, count: 0, bytes: 0)
                }
            }
        }
    }

    /// Per width w from 1 to `maxLength` bits, the w-bit stretches of a stream (least significant bit
    /// first) that begin no code of at most w bits: those that begin a longer code, and those that begin
    /// none (an incomplete code). Canonical codes of at most w bits, read most significant bit first,
    /// take exactly the w-bit values below the sum of 2^(w - length) over them, so the uncovered ones are
    /// the values from that sum up, bit-reversed.
    struct UncoveredStretches {
        private let stretches: [UInt16]
        private let starts: [Int]

        init(_ lengths: [UInt8]) {
            var perLength = [Int](repeating: 0, count: maxLength + 1)
            for length in lengths where length > 0 { perLength[Int(length)] += 1 }
            var stretches: [UInt16] = [], starts = [0, 0]
            var covered = 0
            for width in 1...maxLength {
                covered = 2 * covered + perLength[width]
                for value in min(covered, 1 << width)..<(1 << width) { stretches.append(UInt16(reversedBits(value, count: width))) }
                starts.append(stretches.count)
            }
            self.stretches = stretches
            self.starts = starts
        }

        /// The stretches of `width` bits (1 to `maxLength`).
        subscript(width: Int) -> ArraySlice<UInt16> { stretches[starts[width]..<starts[width + 1]] }
    }

    /// Symbols a lookup in `Entry`'s table yields on average, for symbols drawn with the probabilities
    /// their code lengths imply (2^-length): the sum over k of the chance that the first k codes fit.
    static func expectedSymbols<Entry: MultiSymbolEntry>(_ lengths: [UInt8], _: Entry.Type) -> Double {
        var weightOfLength = [Double](repeating: 0, count: maxLength + 1)
        for length in lengths where length > 0 { weightOfLength[Int(length)] += 1 / Double(1 << Int(length)) }
        // fits[b]: the chance that the codes so far take exactly b bits.
        var fits = [Double](repeating: 0, count: Entry.indexBits + 1)
        fits[0] = 1
        var expected = 0.0
        for _ in 0..<Entry.maxSymbols {
            var next = [Double](repeating: 0, count: Entry.indexBits + 1)
            for bits in 0..<Entry.indexBits where fits[bits] > 0 {
                for length in 1...min(maxLength, Entry.indexBits - bits) { next[bits + length] += fits[bits] * weightOfLength[length] }
            }
            fits = next
            expected += fits.reduce(0, +)
        }
        return expected
    }
}
