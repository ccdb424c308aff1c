#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A static rANS entropy coder over bytes (after Duda's asymmetric numeral systems, in the byte-oriented
/// form popularised by ryg_rans): 32-bit states renormalised by 16-bit words, probabilities quantised to
/// 12 bits. Four interleaved states, each with its own word stream, so that the four dependency chains
/// of the decoder never wait for each other.
///
/// Stream layout: the frequency table (see `FrequencyTable.serialized`), the four final states (u32),
/// the four streams' word counts (u32), then the four streams of 16-bit words, each in the order its
/// state consumes them. Symbol i belongs to state i mod 4.
public enum RANS {
    static let probabilityBits: UInt32 = 12
    static let total: UInt32 = 1 << probabilityBits
    /// Lower bound of the normalised state interval [L, L << 16).
    static let lowerBound: UInt32 = 1 << 16
    static let lanes = 4

    /// Encodes `input` with a table fitted to it; returns nil when the input has a single distinct symbol
    /// or is empty (callers store such planes as a constant).
    public static func encode(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let histogram = PlaneProbe.histogram(input)
        guard histogram.counts.filter({ $0 > 0 }).count > 1 else { return nil }
        return histogram.counts.withUnsafeBufferPointer { encode(input, counts: $0) }
    }

    /// Bytes of a stream besides the coded symbols: table, states and word counts.
    static func overheadBytes(symbols: Int) -> Int { 1 + 3 * symbols + 8 * lanes }

    /// Encodes `input` whose symbol counts (at least two symbols present) are `counts`.
    static func encode(_ input: UnsafeBufferPointer<UInt8>, counts: UnsafeBufferPointer<Int>) -> [UInt8] {
        let table = FrequencyTable(counts: Array(counts))
        let symbols = table.encodingSymbols()
        let n = input.count
        // Each lane emits at most one word per symbol; lanes write downwards into their own region so
        // that each ends in decoding order.
        let laneCapacity = n / lanes + 2
        let words = UnsafeMutablePointer<UInt16>.allocate(capacity: lanes * laneCapacity)
        defer { words.deallocate() }
        // Loop state stays inside the closure: captured mutable variables would be boxed on the heap.
        let (tops, states) = symbols.withUnsafeBufferPointer { table -> ([Int], [UInt32]) in
            var x0 = lowerBound, x1 = lowerBound, x2 = lowerBound, x3 = lowerBound
            var t0 = laneCapacity, t1 = 2 * laneCapacity, t2 = 3 * laneCapacity, t3 = 4 * laneCapacity
            @inline(__always) func put(_ x: inout UInt32, _ top: inout Int, _ symbol: UInt8) {
                let e = table[Int(symbol)]
                // Branch-free renormalisation: the word is always stored, and kept only when needed.
                let flush = x >= e.limit
                words[top &- 1] = UInt16(truncatingIfNeeded: x)
                top &-= flush ? 1 : 0
                x = flush ? x >> 16 : x
                let q = UInt32(truncatingIfNeeded: UInt64(x).multipliedFullWidth(by: e.reciprocal).high)
                x = x &+ e.bias &+ q &* e.complement
            }
            var i = n
            // Encoding runs backwards; first the ragged end, then whole rounds.
            while i % 4 != 0 {
                i -= 1
                switch i & 3 {
                case 0: put(&x0, &t0, input[i])
                case 1: put(&x1, &t1, input[i])
                case 2: put(&x2, &t2, input[i])
                default: put(&x3, &t3, input[i])
                }
            }
            while i > 0 {
                put(&x3, &t3, input[i &- 1])
                put(&x2, &t2, input[i &- 2])
                put(&x1, &t1, input[i &- 3])
                put(&x0, &t0, input[i &- 4])
                i &-= 4
            }
            return ([t0, t1, t2, t3], [x0, x1, x2, x3])
        }
        var out = table.serialized()
        for x in states { withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) } }
        let counts16 = (0..<lanes).map { (($0 + 1) * laneCapacity) - tops[$0] }
        for count in counts16 { withUnsafeBytes(of: UInt32(count).littleEndian) { out.append(contentsOf: $0) } }
        out.reserveCapacity(out.count + 2 * counts16.reduce(0, +))
        for lane in 0..<lanes {
            UnsafeRawBufferPointer(start: words + tops[lane], count: 2 * counts16[lane]).withMemoryRebound(to: UInt8.self) { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Decodes exactly `output.count` symbols from `data`. Corrupt data is detected (bad table, a stream
    /// running out of words, final states that are not the initial ones, words left over) and never read
    /// or written out of bounds.
    public static func decode(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<UInt8>) throws {
        let (table, tableBytes) = try FrequencyTable.deserialize(data)
        let fixed = tableBytes + 8 * lanes
        guard data.count >= fixed else { throw CodecError("rANS stream too short") }
        let word = { (k: Int) in UInt32(littleEndian: data.loadUnaligned(fromByteOffset: tableBytes + 4 * k, as: UInt32.self)) }
        let initial = (0..<lanes).map { word($0) }
        let counts = (0..<lanes).map { Int(word(lanes + $0)) }
        guard counts.allSatisfy({ $0 <= data.count }), fixed + 2 * counts.reduce(0, +) == data.count else {
            throw CodecError("rANS stream lengths do not match its size")
        }
        var starts: [UnsafeRawPointer] = []
        var offset = fixed
        for lane in 0..<lanes {
            starts.append(data.baseAddress! + offset)
            offset += 2 * counts[lane]
        }
        let ends = (0..<lanes).map { starts[$0] + 2 * counts[$0] }
        let n = output.count
        guard let out = output.baseAddress else { return }
        let mask = total - 1
        let slots = table.decodingSlots()
        // Loop state stays inside the closure: captured mutable variables would be boxed on the heap.
        let (finalStates, finalPointers) = try slots.withUnsafeBufferPointer { slots -> ([UInt32], [UnsafeRawPointer]) in
            var x0 = initial[0], x1 = initial[1], x2 = initial[2], x3 = initial[3]
            var p0 = starts[0], p1 = starts[1], p2 = starts[2], p3 = starts[3]
            @inline(__always) func get(_ x: inout UInt32, _ p: inout UnsafeRawPointer) -> UInt8 {
                let entry = slots[Int(x & mask)]
                x = (entry & 0xFFF) &* (x >> probabilityBits) &+ ((entry >> 12) & 0xFFF)
                // Branch-free renormalisation: the next word is always loaded (the caller guarantees one).
                let refill = x < lowerBound
                let next = UInt32(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
                x = refill ? (x << 16) | next : x
                p += refill ? 2 : 0
                return UInt8(truncatingIfNeeded: entry >> 24)
            }
            var i = 0
            // Rounds of four symbols, one per lane; a round reads at most one word per lane, so the rounds
            // that need no checks are counted in advance.
            while true {
                let left = min(min(ends[0] - p0, ends[1] - p1), min(ends[2] - p2, ends[3] - p3)) / 2
                let rounds = min((n - i) / 4, left)
                if rounds == 0 { break }
                var k = 0
                while k < rounds {
                    out[i] = get(&x0, &p0)
                    out[i &+ 1] = get(&x1, &p1)
                    out[i &+ 2] = get(&x2, &p2)
                    out[i &+ 3] = get(&x3, &p3)
                    i &+= 4
                    k &+= 1
                }
            }
            // The tail, checking before every word read.
            var states = [x0, x1, x2, x3]
            var pointers = [p0, p1, p2, p3]
            while i < n {
                let lane = i & 3
                var x = states[lane]
                let entry = slots[Int(x & mask)]
                out[i] = UInt8(truncatingIfNeeded: entry >> 24)
                x = (entry & 0xFFF) &* (x >> probabilityBits) &+ ((entry >> 12) & 0xFFF)
                if x < lowerBound {
                    guard pointers[lane] < ends[lane] else { throw CodecError("rANS stream ends early") }
                    x = (x << 16) | UInt32(UInt16(littleEndian: pointers[lane].loadUnaligned(as: UInt16.self)))
                    pointers[lane] += 2
                }
                states[lane] = x
                i += 1
            }
            return (states, pointers)
        }
        guard finalStates.allSatisfy({ $0 == lowerBound }), finalPointers == ends else {
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
    /// as a multiplication by a 64-bit reciprocal: q = high 64 bits of x * ceil(2^64 / f), exact for every
    /// 32-bit state (the error is below x / 2^64 < 1/f). A 32-bit reciprocal is exact only below 2^31,
    /// and states reach 2^20 f, past 2^31 for symbols more frequent than one half.
    struct EncodingSymbol {
        var limit: UInt32 = 0
        var reciprocal: UInt64 = 0
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
                // x / 1 = x: the reciprocal 2^64 - 1 gives x - 1 for x >= 1; fold the +1 into the bias.
                symbol.reciprocal = UInt64.max
                symbol.bias = UInt32(cumulative[s]) &+ RANS.total &- 1
                symbol.complement = RANS.total - 1
            } else {
                symbol.reciprocal = UInt64.max / UInt64(f) + 1
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
