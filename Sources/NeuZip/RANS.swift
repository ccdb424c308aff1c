#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A static rANS entropy coder over bytes (after Duda's asymmetric numeral systems, in the byte-oriented
/// form popularised by ryg_rans): 32-bit states renormalised by 16-bit words, probabilities quantised to
/// 12 bits, four interleaved states so that consecutive symbols decode independently.
///
/// Stream layout: the frequency table (see `FrequencyTable.serialized`), four u32 final states, then the
/// 16-bit words in the order the decoder consumes them.
public enum RANS {
    static let probabilityBits: UInt32 = 12
    static let total: UInt32 = 1 << probabilityBits
    /// Lower bound of the normalised state interval [L, L << 16).
    static let lowerBound: UInt32 = 1 << 16

    /// Encodes `input` with a table fitted to it; returns nil when the input has a single distinct symbol
    /// or is empty (callers store such planes as a constant), or when its order-0 entropy says coding
    /// cannot save `minimumSaving` of the raw size (the plane is then stored raw without trying).
    public static func encode(_ input: UnsafeBufferPointer<UInt8>, minimumSaving: Double = 0) -> [UInt8]? {
        var counts = [Int](repeating: 0, count: 256)
        counts.withUnsafeMutableBufferPointer { c in for byte in input { c[Int(byte)] += 1 } }
        guard counts.filter({ $0 > 0 }).count > 1 else { return nil }
        if minimumSaving > 0 {
            let n = Double(input.count)
            let entropy = counts.reduce(0.0) { $1 == 0 ? $0 : $0 - Double($1) / n * log2(Double($1) / n) }
            if entropy / 8 > 1 - minimumSaving { return nil }
        }
        let table = FrequencyTable(counts: counts)
        let symbols = table.encodingSymbols()
        let tableBytes = table.serialized()
        let n = input.count
        // At most one 16-bit word per symbol, plus slack; written downwards so they end in decoding order.
        let capacity = n + 8
        let words = UnsafeMutablePointer<UInt16>.allocate(capacity: capacity)
        defer { words.deallocate() }
        // The loop state lives inside the closure: captured mutable variables would be boxed on the heap.
        let (top, x0, x1, x2, x3) = symbols.withUnsafeBufferPointer { table -> (Int, UInt32, UInt32, UInt32, UInt32) in
            var top = capacity
            var x0 = lowerBound, x1 = lowerBound, x2 = lowerBound, x3 = lowerBound
            @inline(__always) func put(_ x: inout UInt32, _ symbol: UInt8) {
                let e = table[Int(symbol)]
                if x >= e.limit {
                    top &-= 1
                    words[top] = UInt16(truncatingIfNeeded: x)
                    x >>= 16
                }
                let q = UInt32(truncatingIfNeeded: (UInt64(x) &* UInt64(e.reciprocal)) >> 32) >> e.shift
                x = x &+ e.bias &+ q &* e.complement
            }
            var i = n
            // Symbol i belongs to state i % 4; encoding runs backwards.
            while i % 4 != 0 {
                i -= 1
                switch i & 3 {
                case 0: put(&x0, input[i])
                case 1: put(&x1, input[i])
                case 2: put(&x2, input[i])
                default: put(&x3, input[i])
                }
            }
            while i > 0 {
                put(&x3, input[i &- 1])
                put(&x2, input[i &- 2])
                put(&x1, input[i &- 3])
                put(&x0, input[i &- 4])
                i &-= 4
            }
            return (top, x0, x1, x2, x3)
        }
        var out = tableBytes
        out.reserveCapacity(tableBytes.count + 16 + 2 * (capacity - top))
        for x in [x0, x1, x2, x3] { withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) } }
        UnsafeRawBufferPointer(start: words + top, count: 2 * (capacity - top)).withMemoryRebound(to: UInt8.self) { out.append(contentsOf: $0) }
        return out
    }

    /// Decodes exactly `output.count` symbols from `data`. Corrupt data is detected (bad table, running out
    /// of words, final states that are not the initial ones) and never read or written out of bounds.
    public static func decode(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<UInt8>) throws {
        let (table, tableBytes) = try FrequencyTable.deserialize(data)
        guard data.count >= tableBytes + 16, (data.count - tableBytes - 16) % 2 == 0 else {
            throw CodecError("rANS stream too short")
        }
        let initial = (0..<4).map { UInt32(littleEndian: data.loadUnaligned(fromByteOffset: tableBytes + 4 * $0, as: UInt32.self)) }
        let wordCount = (data.count - tableBytes - 16) / 2
        let words = data.baseAddress! + tableBytes + 16
        let n = output.count
        guard let out = output.baseAddress else { return }
        let mask = total - 1
        let slots = table.decodingSlots()
        // The loop state lives inside the closure: captured mutable variables would be boxed on the heap.
        let (position, x0, x1, x2, x3) = try slots.withUnsafeBufferPointer { slots -> (Int, UInt32, UInt32, UInt32, UInt32) in
            var x0 = initial[0], x1 = initial[1], x2 = initial[2], x3 = initial[3]
            var position = 0
            @inline(__always) func get(_ x: inout UInt32) -> UInt8 {
                let entry = slots[Int(x & mask)]
                x = (entry & 0xFFF) &* (x >> probabilityBits) &+ ((entry >> 12) & 0xFFF)
                // Branch-free renormalisation: the word is always loaded (the caller guarantees one is there).
                let refill = x < lowerBound
                let word = UInt32(UInt16(littleEndian: words.loadUnaligned(fromByteOffset: position &<< 1, as: UInt16.self)))
                x = refill ? (x << 16) | word : x
                position &+= refill ? 1 : 0
                return UInt8(truncatingIfNeeded: entry >> 24)
            }
            var i = 0
            // Rounds of four symbols, one per state; a round reads at most four words, so the number of
            // rounds that need no checks is known in advance.
            while true {
                let rounds = min((n - i) / 4, (wordCount - position) / 4)
                if rounds == 0 { break }
                var k = 0
                while k < rounds {
                    out[i] = get(&x0)
                    out[i &+ 1] = get(&x1)
                    out[i &+ 2] = get(&x2)
                    out[i &+ 3] = get(&x3)
                    i &+= 4
                    k &+= 1
                }
            }
            // The tail, checking before every word read.
            while i < n {
                let lane = i & 3
                var x = lane == 0 ? x0 : lane == 1 ? x1 : lane == 2 ? x2 : x3
                let entry = slots[Int(x & mask)]
                out[i] = UInt8(truncatingIfNeeded: entry >> 24)
                x = (entry & 0xFFF) &* (x >> probabilityBits) &+ ((entry >> 12) & 0xFFF)
                if x < lowerBound {
                    guard position < wordCount else { throw CodecError("rANS stream ends early") }
                    x = (x << 16) | UInt32(UInt16(littleEndian: words.loadUnaligned(fromByteOffset: 2 * position, as: UInt16.self)))
                    position += 1
                }
                switch lane {
                case 0: x0 = x
                case 1: x1 = x
                case 2: x2 = x
                default: x3 = x
                }
                i += 1
            }
            return (position, x0, x1, x2, x3)
        }
        guard position == wordCount, x0 == lowerBound, x1 == lowerBound, x2 == lowerBound, x3 == lowerBound else {
            throw CodecError("rANS stream is corrupt (final state mismatch)")
        }
    }
}

/// Symbol frequencies quantised to sum to 2^12, each present symbol at least 1.
struct FrequencyTable {
    var frequencies = [UInt16](repeating: 0, count: 256)
    var cumulative = [UInt16](repeating: 0, count: 257)

    init(counts: [Int]) {
        let total = counts.reduce(0, +)
        var assigned = 0
        for s in 0..<256 where counts[s] > 0 {
            let scaled = max(1, Int((Double(counts[s]) * Double(RANS.total) / Double(total)).rounded()))
            frequencies[s] = UInt16(scaled)
            assigned += scaled
        }
        // Fix the sum on the symbols that lose least by it: take from (or give to) the most frequent ones.
        var difference = Int(RANS.total) - assigned
        let order = (0..<256).filter { counts[$0] > 0 }.sorted { counts[$0] > counts[$1] }
        var k = 0
        while difference != 0 {
            let s = order[k % order.count]
            if difference > 0 {
                frequencies[s] += 1
                difference -= 1
            } else if frequencies[s] > 1 {
                frequencies[s] -= 1
                difference += 1
            }
            k += 1
        }
        computeCumulative()
    }

    private init() {}

    private mutating func computeCumulative() {
        for s in 0..<256 { cumulative[s + 1] = cumulative[s] &+ frequencies[s] }
    }

    /// Count of present symbols (u8, 0 meaning 256), then (symbol u8, frequency-1 as u16 LE) per symbol.
    func serialized() -> [UInt8] {
        let present = (0..<256).filter { frequencies[$0] > 0 }
        var out: [UInt8] = [UInt8(truncatingIfNeeded: present.count)]
        for s in present {
            let f = frequencies[s] - 1
            out += [UInt8(s), UInt8(truncatingIfNeeded: f), UInt8(truncatingIfNeeded: f >> 8)]
        }
        return out
    }

    static func deserialize(_ data: UnsafeRawBufferPointer) throws -> (FrequencyTable, Int) {
        guard let first = data.first else { throw CodecError("rANS table missing") }
        let present = first == 0 ? 256 : Int(first)
        let size = 1 + 3 * present
        guard data.count >= size else { throw CodecError("rANS table truncated") }
        var table = FrequencyTable()
        var sum = 0
        var previous = -1
        for k in 0..<present {
            let s = Int(data[1 + 3 * k])
            let f = Int(data[2 + 3 * k]) | Int(data[3 + 3 * k]) << 8
            guard s > previous, f < Int(RANS.total) else { throw CodecError("rANS table is corrupt") }
            previous = s
            table.frequencies[s] = UInt16(f + 1)
            sum += f + 1
        }
        guard sum == Int(RANS.total), present > 1 else { throw CodecError("rANS table is corrupt (sum or symbol count)") }
        table.computeCumulative()
        return (table, size)
    }

    /// What the encoder needs per symbol: the renormalisation limit, and division by the frequency done
    /// as a multiplication by a reciprocal (exact for 32-bit states: q = floor(x * reciprocal / 2^(32+shift))).
    struct EncodingSymbol {
        var limit: UInt32 = 0
        var reciprocal: UInt32 = 0
        var shift: UInt32 = 0
        var bias: UInt32 = 0
        var complement: UInt32 = 0
    }

    /// x' = (x / f) * M + x % f + c  ==  x + c + (x / f) * (M - f): the form that needs only the quotient.
    func encodingSymbols() -> [EncodingSymbol] {
        (0..<256).map { s in
            let f = UInt32(frequencies[s])
            guard f > 0 else { return EncodingSymbol() }
            var symbol = EncodingSymbol()
            symbol.limit = ((RANS.lowerBound >> RANS.probabilityBits) << 16) &* f
            if f == 1 {
                // x / 1 = x: reciprocal 2^32 - 1 with shift 0 gives x - 1 for x >= 1; fold the +1 into the bias.
                symbol.reciprocal = UInt32.max
                symbol.shift = 0
                symbol.bias = UInt32(cumulative[s]) &+ RANS.total &- 1
                symbol.complement = RANS.total - 1
            } else {
                var shift: UInt32 = 0
                while f > (1 << shift) { shift += 1 }
                symbol.reciprocal = UInt32(((UInt64(1) << (UInt64(shift) + 31)) + UInt64(f) - 1) / UInt64(f))
                symbol.shift = shift - 1
                symbol.bias = UInt32(cumulative[s])
                symbol.complement = RANS.total - f
            }
            return symbol
        }
    }

    /// One entry per probability slot, packed: frequency (bits 0-11; at most 4095 since a single-symbol
    /// plane is never rANS-coded), slot - cumulative (bits 12-23), symbol (bits 24-31).
    func decodingSlots() -> [UInt32] {
        var slots = [UInt32](repeating: 0, count: Int(RANS.total))
        for s in 0..<256 where frequencies[s] > 0 {
            let start = Int(cumulative[s])
            for slot in start..<(start + Int(frequencies[s])) {
                slots[slot] = UInt32(frequencies[s]) | UInt32(slot - start) << 12 | UInt32(s) << 24
            }
        }
        return slots
    }
}
