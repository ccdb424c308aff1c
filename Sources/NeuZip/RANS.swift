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
    /// or is empty (callers store such planes as a constant).
    public static func encode(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var counts = [Int](repeating: 0, count: 256)
        for byte in input { counts[Int(byte)] += 1 }
        guard counts.filter({ $0 > 0 }).count > 1 else { return nil }
        let table = FrequencyTable(counts: counts)
        var out = table.serialized()
        let headerEnd = out.count
        out.append(contentsOf: repeatElement(0, count: 16))
        // Words are produced last-first; collect them, then reverse into decoding order.
        var words: [UInt16] = []
        words.reserveCapacity(input.count / 2 + 16)
        var states = SIMD4<UInt32>(repeating: lowerBound)
        let freq = table.frequencies, cum = table.cumulative
        var i = input.count - 1
        while i >= 0 {
            let lane = i & 3
            let s = Int(input[i])
            let f = UInt32(freq[s])
            var x = states[lane]
            let limit = (lowerBound >> probabilityBits) << 16 &* f
            if x >= limit {
                words.append(UInt16(truncatingIfNeeded: x))
                x >>= 16
            }
            states[lane] = ((x / f) << probabilityBits) &+ (x % f) &+ UInt32(cum[s])
            i -= 1
        }
        for lane in 0..<4 {
            withUnsafeBytes(of: states[lane].littleEndian) { raw in
                for k in 0..<4 { out[headerEnd + 4 * lane + k] = raw[k] }
            }
        }
        out.reserveCapacity(out.count + 2 * words.count)
        for word in words.reversed() {
            out.append(UInt8(truncatingIfNeeded: word))
            out.append(UInt8(truncatingIfNeeded: word >> 8))
        }
        return out
    }

    /// Decodes exactly `output.count` symbols from `data`. Corrupt data is detected (bad table, running out
    /// of words, final states that are not the initial ones) and never read or written out of bounds.
    public static func decode(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<UInt8>) throws {
        let (table, tableBytes) = try FrequencyTable.deserialize(data)
        guard data.count >= tableBytes + 16, (data.count - tableBytes - 16) % 2 == 0 else {
            throw CodecError("rANS stream too short")
        }
        var states = SIMD4<UInt32>()
        for lane in 0..<4 { states[lane] = UInt32(littleEndian: data.loadUnaligned(fromByteOffset: tableBytes + 4 * lane, as: UInt32.self)) }
        let wordCount = (data.count - tableBytes - 16) / 2
        let words = data.baseAddress! + tableBytes + 16
        var position = 0
        let n = output.count
        guard let out = output.baseAddress else { return }
        try table.withDecodingTable { slots in
            var i = 0
            // Four symbols per round, one per state, while enough words remain for the worst case.
            while i + 4 <= n && position + 4 <= wordCount {
                for lane in 0..<4 {
                    var x = states[lane]
                    let entry = slots[Int(x & (total - 1))]
                    out[i + lane] = entry.symbol
                    x = UInt32(entry.frequency) &* (x >> probabilityBits) &+ UInt32(entry.offset)
                    if x < lowerBound {
                        x = (x << 16) | UInt32(words.loadUnaligned(fromByteOffset: 2 * position, as: UInt16.self).littleEndian)
                        position += 1
                    }
                    states[lane] = x
                }
                i += 4
            }
            while i < n {
                let lane = i & 3
                var x = states[lane]
                let entry = slots[Int(x & (total - 1))]
                out[i] = entry.symbol
                x = UInt32(entry.frequency) &* (x >> probabilityBits) &+ UInt32(entry.offset)
                if x < lowerBound {
                    guard position < wordCount else { throw CodecError("rANS stream ends early") }
                    x = (x << 16) | UInt32(words.loadUnaligned(fromByteOffset: 2 * position, as: UInt16.self).littleEndian)
                    position += 1
                }
                states[lane] = x
                i += 1
            }
        }
        guard position == wordCount, states == SIMD4(repeating: lowerBound) else {
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
        guard sum == Int(RANS.total) else { throw CodecError("rANS table does not sum to 4096") }
        table.computeCumulative()
        return (table, size)
    }

    /// One entry per probability slot: the symbol, its frequency, and slot - cumulative.
    struct Slot {
        var frequency: UInt16
        var offset: UInt16
        var symbol: UInt8
    }

    func withDecodingTable<R>(_ body: (UnsafeBufferPointer<Slot>) throws -> R) rethrows -> R {
        var slots = [Slot](repeating: Slot(frequency: 0, offset: 0, symbol: 0), count: Int(RANS.total))
        for s in 0..<256 where frequencies[s] > 0 {
            let start = Int(cumulative[s])
            for slot in start..<(start + Int(frequencies[s])) {
                slots[slot] = Slot(frequency: frequencies[s], offset: UInt16(slot - start), symbol: UInt8(s))
            }
        }
        return try slots.withUnsafeBufferPointer { try body($0) }
    }
}

/// A decoding failure inside the codec: corrupt or truncated compressed data.
public struct CodecError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
