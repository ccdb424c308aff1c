/// Canonical Huffman coding of a byte plane, built for decoding speed. Code lengths are limited to
/// `maxLength` (12) bits, so one lookup of the next 12 or 13 bits of a stream yields several whole
/// symbols (trained weights' exponents average under 3 bits a symbol, so a lookup usually yields three or
/// four; `DecodingTables` in HuffmanTables.swift), and the plane is cut into four quarters coded as
/// independent streams that the decoder advances in one interleaved loop, so that their dependency
/// chains overlap. rANS codes closer to the entropy;
/// Huffman decodes several times faster; `PlaneCodec` chooses between them.
///
/// Layout: the code lengths (first symbol u8, symbol count - 1 u8, then 4 bits a symbol from the first
/// on, two to a byte, low half first, 0 for an absent one), the four streams' byte counts (u32 LE each),
/// then the four streams. A stream is the codes of its quarter's symbols, least significant bit first,
/// then 8 zero bytes, so that the decoder may always load 8 bytes at once.
import CCacheHints

public enum Huffman {
    static let maxLength = 12
    static let tableSize = 1 << maxLength
    static let streams = 4
    static let padding = 8
    static let sizeFieldBytes = 4 * streams
    /// Below this many symbols a plane is decoded one symbol at a time: building the four-symbol table
    /// (4096 entries) would take longer than it saves.
    static let multiSymbolMinimum = 8192

    // MARK: code construction

    /// Code lengths per symbol (0 for absent ones), at most `maxLength` bits, from symbol counts; nil when
    /// fewer than two symbols occur.
    static func codeLengths(_ counts: UnsafeBufferPointer<Int>) -> [UInt8]? {
        let present = (0..<256).filter { counts[$0] > 0 }.sorted { (counts[$0], $0) < (counts[$1], $1) }
        let k = present.count
        guard k > 1 else { return nil }
        // Two-queue construction over leaves sorted by count: internal nodes are made in order of weight.
        var weight = present.map { counts[$0] } + [Int](repeating: 0, count: k - 1)
        var parent = [Int](repeating: 0, count: 2 * k - 1)
        var leaf = 0, inner = k, made = k
        func lightest() -> Int {
            if leaf < k && (inner == made || weight[leaf] <= weight[inner]) { leaf += 1; return leaf - 1 }
            inner += 1
            return inner - 1
        }
        while made < 2 * k - 1 {
            let a = lightest(), b = lightest()
            weight[made] = weight[a] + weight[b]
            parent[a] = made
            parent[b] = made
            made += 1
        }
        var depth = [Int](repeating: 0, count: 2 * k - 1)
        for node in stride(from: 2 * k - 3, through: 0, by: -1) { depth[node] = depth[parent[node]] + 1 }
        var lengths = [UInt8](repeating: 0, count: 256)
        for (i, symbol) in present.enumerated() { lengths[symbol] = UInt8(min(depth[i], maxLength)) }
        limitLengths(&lengths, present: present)
        return lengths
    }

    /// Brings clamped lengths back to a prefix code (Kraft sum at most 1) by lengthening the least frequent
    /// of the longest codes still under the limit, then spends any slack shortening the most frequent.
    /// `present` lists the symbols from least to most frequent.
    private static func limitLengths(_ lengths: inout [UInt8], present: [Int]) {
        let full = 1 << maxLength
        func units(_ length: UInt8) -> Int { 1 << (maxLength - Int(length)) }
        var kraft = present.reduce(0) { $0 + units(lengths[$1]) }
        while kraft > full {
            var chosen = -1
            for symbol in present where Int(lengths[symbol]) < maxLength {
                if chosen < 0 || lengths[symbol] > lengths[chosen] { chosen = symbol }
            }
            lengths[chosen] += 1
            kraft -= units(lengths[chosen])
        }
        for symbol in present.reversed() {
            while lengths[symbol] > 1 && kraft + units(lengths[symbol]) <= full {
                kraft += units(lengths[symbol])
                lengths[symbol] -= 1
            }
        }
    }

    /// Canonical codes, bit-reversed for least-significant-bit-first streams: per symbol, code | length << 16.
    static func encodingTable(_ lengths: [UInt8]) -> [UInt32] {
        var perLength = [Int](repeating: 0, count: maxLength + 1)
        for length in lengths where length > 0 { perLength[Int(length)] += 1 }
        var next = [Int](repeating: 0, count: maxLength + 1)
        var code = 0
        for bits in 1...maxLength {
            code = (code + perLength[bits - 1]) << 1
            next[bits] = code
        }
        return lengths.map { length in
            guard length > 0 else { return 0 }
            let canonical = next[Int(length)]
            next[Int(length)] += 1
            return UInt32(reversedBits(canonical, count: Int(length))) | UInt32(length) << 16
        }
    }

    /// The low `count` bits of `value` in reverse order (swapping halves, then quarters, ... of 16 bits).
    @inline(__always) static func reversedBits(_ value: Int, count: Int) -> Int {
        var x = UInt16(truncatingIfNeeded: value)
        x = x.byteSwapped
        x = (x & 0xF0F0) >> 4 | (x & 0x0F0F) << 4
        x = (x & 0xCCCC) >> 2 | (x & 0x3333) << 2
        x = (x & 0xAAAA) >> 1 | (x & 0x5555) << 1
        return Int(x >> (16 - count))
    }

    // MARK: encoding

    /// The coded size in bytes that `encode` would produce for these lengths and counts.
    static func encodedSize(_ lengths: [UInt8], _ counts: UnsafeBufferPointer<Int>) -> Int {
        let bits = (0..<256).reduce(0) { $0 + Int(lengths[$1]) * counts[$1] }
        return serialized(lengths).count + sizeFieldBytes + bits / 8 + streams * (1 + padding)
    }

    /// Encodes `input` with the code `lengths` (from `codeLengths` of its counts).
    static func encode(_ input: UnsafeBufferPointer<UInt8>, lengths: [UInt8]) -> [UInt8] {
        let codes = encodingTable(lengths)
        let n = input.count
        // Each stream is written into its own region first (its size is known only at the end), then the
        // regions are moved together.
        let region = (n / streams + streams) * maxLength / 8 + 2 * padding
        let table = serialized(lengths)
        let headerBytes = table.count + sizeFieldBytes
        return [UInt8](unsafeUninitializedCapacity: headerBytes + streams * region) { out, size in
            let base = UnsafeMutableRawPointer(out.baseAddress!)
            base.copyMemory(from: table, byteCount: table.count)
            let written = codes.withUnsafeBufferPointer { encodeStreams(input, $0, base + headerBytes, region: region) }
            var position = headerBytes
            for k in 0..<streams {
                base.storeBytes(of: UInt32(written[k]).littleEndian, toByteOffset: table.count + 4 * k, as: UInt32.self)
                if position != headerBytes + k * region { (base + position).copyMemory(from: base + headerBytes + k * region, byteCount: written[k]) }
                position += written[k]
            }
            size = position
        }
    }

    /// The code lengths of the symbols from the first to the last present one, 4 bits each.
    static func serialized(_ lengths: [UInt8]) -> [UInt8] {
        let first = lengths.firstIndex { $0 > 0 } ?? 0, last = lengths.lastIndex { $0 > 0 } ?? 0
        var out: [UInt8] = [UInt8(first), UInt8(last - first)]
        for s in stride(from: first, through: last, by: 2) {
            out.append(lengths[s] | (s + 1 <= last ? lengths[s + 1] << 4 : 0))
        }
        return out
    }

    /// Reads `serialized` back: the 256 lengths and the bytes they took.
    static func readLengths(_ data: UnsafeRawBufferPointer) throws -> ([UInt8], Int) {
        guard data.count >= 2 else { throw CodecError("Huffman stream too short") }
        let first = Int(data[0]), count = Int(data[1]) + 1
        let size = 2 + (count + 1) / 2
        guard first + count <= 256, data.count >= size else { throw CodecError("Huffman code lengths are corrupt") }
        var lengths = [UInt8](repeating: 0, count: 256)
        for k in 0..<count { lengths[first + k] = (data[2 + k / 2] >> (4 * UInt8(k % 2))) & 15 }
        return (lengths, size)
    }

    /// Quarter `k` of `n` symbols.
    @inline(__always) static func segment(_ k: Int, of n: Int) -> Range<Int> {
        (k * (n / streams))..<(k == streams - 1 ? n : (k + 1) * (n / streams))
    }

    /// One stream being written: a bit accumulator flushed eight bytes at a time.
    private struct StreamWriter {
        let out: UnsafeMutableRawPointer
        var accumulator: UInt64 = 0
        var pending: UInt64 = 0
        var position = 0

        init(_ out: UnsafeMutableRawPointer) { self.out = out }

        @inline(__always) mutating func put(_ entry: UInt32) {
            accumulator |= UInt64(entry & 0xFFFF) &<< pending
            pending &+= UInt64(entry &>> 16)
        }

        /// Appends a `PairCodes` entry.
        @inline(__always) mutating func putPair(_ entry: UInt32) {
            accumulator |= UInt64(entry & 0xFF_FFFF) &<< pending
            pending &+= UInt64(entry &>> 24)
        }

        /// Stores the accumulator and keeps its incomplete last byte (so at most 7 bits stay pending).
        @inline(__always) mutating func flush() {
            out.storeBytes(of: accumulator.littleEndian, toByteOffset: position, as: UInt64.self)
            let bytes = pending &>> 3
            position &+= Int(bytes)
            accumulator = accumulator &>> (bytes &<< 3)
            pending &= 7
        }

        /// Writes the last bits and the padding; returns the stream's size.
        mutating func finish() -> Int {
            let tail = Int((pending + 7) >> 3)
            out.storeBytes(of: accumulator.littleEndian, toByteOffset: position, as: UInt64.self)
            (out + position + tail).initializeMemory(as: UInt8.self, repeating: 0, count: padding)
            return position + tail + padding
        }
    }

    /// Codes the four quarters of `input` into regions of `region` bytes at `out`, one after the other,
    /// and returns each stream's size. Eight bytes are stored at a time, hence the regions' slack. Symbols
    /// go two at a time through a table of symbol pairs (`PairCodes`), which halves the lookups and
    /// accumulator updates (measured: the encoder's time fell by about a third). One stream at a time
    /// keeps every variable in a register; interleaving the four (as the decoder does) spilled them, and
    /// the encoder's dependency chain (an add per pair) is short enough to need no overlap.
    private static func encodeStreams(_ input: UnsafeBufferPointer<UInt8>, _ codes: UnsafeBufferPointer<UInt32>,
                                      _ out: UnsafeMutableRawPointer, region: Int) -> [Int] {
        let n = input.count, quarter = n / streams
        let source = input.baseAddress!
        let pairs = PairCodes(codes, symbols: n)
        defer { pairs?.deallocate() }
        return (0..<streams).map { k in
            var writer = StreamWriter(out + k * region)
            let symbols = source + k * quarter, count = k == streams - 1 ? n - k * quarter : quarter
            var i = 0
            if let pairs {
                // Two pairs (at most 48 bits) fit beside the at most 7 bits a flush leaves.
                while i + 4 <= count {
                    writer.putPair(pairs[symbols, i])
                    writer.putPair(pairs[symbols, i + 2])
                    writer.flush()
                    i += 4
                }
            }
            while i < count {
                writer.put(codes[Int(symbols[i])])
                writer.flush()
                i += 1
            }
            return writer.finish()
        }
    }

    /// The codes of two consecutive symbols joined, indexed by the two bytes read as one little-endian
    /// UInt16: first code | second code << first length, in the low 24 bits, total length in the high 8.
    /// Only the pairs of symbols present in the plane are filled (the only ones the encoder reads), so
    /// the table costs the square of the symbol count to build.
    private struct PairCodes {
        private let table: UnsafeMutablePointer<UInt32>

        /// The table for `codes`, or nil when building it would cost more than a sixteenth of coding
        /// `symbols` symbols one at a time (small planes; planes of nearly all 256 byte values).
        init?(_ codes: UnsafeBufferPointer<UInt32>, symbols: Int) {
            let present = (0..<256).filter { codes[$0] != 0 }
            guard present.count * present.count * 16 <= symbols else { return nil }
            table = .allocate(capacity: 1 << 16)
            for second in present {
                let code = codes[second] & 0xFFFF, length = codes[second] >> 16
                for first in present {
                    let firstLength = codes[first] >> 16
                    table[first | second << 8] = (codes[first] & 0xFFFF | code << firstLength) | (firstLength + length) << 24
                }
            }
        }

        func deallocate() { table.deallocate() }

        /// The joined codes of the symbols at `offset` and `offset + 1` of `source`.
        @inline(__always) subscript(source: UnsafePointer<UInt8>, offset: Int) -> UInt32 {
            table[Int(UInt16(littleEndian: UnsafeRawPointer(source).loadUnaligned(fromByteOffset: offset, as: UInt16.self)))]
        }
    }

    // MARK: decoding

    /// Decodes exactly `output.count` symbols from `data`. Corrupt data is never read or written out of
    /// bounds; lengths that are no prefix code and streams that end early or have bytes left throw, and so
    /// do codes that exist in no table entry near a stream's end. Elsewhere such codes decode to wrong
    /// bytes, which the caller's checksum rejects (the .nz container checks every chunk).
    ///
    /// `companions` are buffers the caller reads next (the raw planes that the decoded one is merged
    /// with): while the streams decode, they are brought into the L2 cache, one line of each a round, so
    /// that their memory latency overlaps the decoding (measured: 9% faster BF16 decompression).
    public static func decode(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<UInt8>,
                              warming companions: [UnsafeRawBufferPointer] = []) throws {
        let (lengths, tableBytes) = try readLengths(data)
        let headerBytes = tableBytes + sizeFieldBytes
        guard data.count >= headerBytes else { throw CodecError("Huffman stream too short") }
        let kraft = lengths.reduce(0) { $1 == 0 ? $0 : $0 + (1 << (maxLength - Int($1))) }
        guard lengths.contains(where: { $0 > maxLength }) == false, kraft <= tableSize, lengths.filter({ $0 > 0 }).count > 1 else {
            throw CodecError("Huffman code lengths are corrupt")
        }
        var bounds: [Range<Int>] = []
        var offset = headerBytes
        for k in 0..<streams {
            let count = Int(UInt32(littleEndian: data.loadUnaligned(fromByteOffset: tableBytes + 4 * k, as: UInt32.self)))
            guard count >= padding, count <= data.count - offset else { throw CodecError("Huffman stream lengths do not match its size") }
            bounds.append(offset..<(offset + count))
            offset += count
        }
        guard offset == data.count else { throw CodecError("Huffman stream lengths do not match its size") }
        let n = output.count
        let tables = DecodingTables(lengths, encodingTable(lengths), multiSymbol: n >= multiSymbolMinimum)
        guard let out = output.baseAddress, n > 0 else { return }
        let start = data.baseAddress!
        var readers = (0..<streams).map { k in
            StreamReader(next: start + bounds[k].lowerBound, end: start + bounds[k].upperBound,
                         out: out + segment(k, of: n).lowerBound, outEnd: out + segment(k, of: n).upperBound)
        }
        switch tables.multiple {
        case .none: break
        case .four(let table): try table.withUnsafeBufferPointer { try decodeMultiSymbol(&readers, $0, Warming(companions)) }
        case .three(let table): try table.withUnsafeBufferPointer { try decodeMultiSymbol(&readers, $0, Warming(companions)) }
        }
        try tables.single.withUnsafeBufferPointer { single in
            for k in 0..<streams {
                try readers[k].finish(single)
                guard readers[k].consumedBytes(from: start + bounds[k].lowerBound) + padding == bounds[k].count else {
                    throw CodecError("Huffman stream \(k) does not end where its length says")
                }
            }
        }
    }

    /// One stream's position: its next unread byte, a bit accumulator, and where its symbols go.
    struct StreamReader {
        var next: UnsafeRawPointer
        let end: UnsafeRawPointer
        var bits: UInt64 = 0
        var available: UInt64 = 0
        var out: UnsafeMutablePointer<UInt8>
        let outEnd: UnsafeMutablePointer<UInt8>

        init(next: UnsafeRawPointer, end: UnsafeRawPointer, out: UnsafeMutablePointer<UInt8>, outEnd: UnsafeMutablePointer<UInt8>) {
            self.next = next
            self.end = end
            self.out = out
            self.outEnd = outEnd
        }

        /// Tops the accumulator up to at least 56 bits with one 8-byte load (the caller checks 8 bytes remain).
        @inline(__always) mutating func refill() {
            bits |= UInt64(littleEndian: next.loadUnaligned(as: UInt64.self)) &<< available
            next += Int((63 &- available) >> 3)
            available |= 56
        }

        /// Decodes the remaining symbols one at a time, checking every read.
        mutating func finish(_ single: UnsafeBufferPointer<UInt16>) throws {
            while out < outEnd {
                if available < UInt64(maxLength) {
                    if end - next >= 8 {
                        refill()
                    } else {
                        while available <= 56 && next < end {
                            bits |= UInt64(next.load(as: UInt8.self)) << available
                            next += 1
                            available += 8
                        }
                    }
                }
                let entry = single[Int(bits & UInt64(tableSize - 1))]
                let length = UInt64(entry >> 8)
                guard length > 0 else { throw CodecError("Huffman stream holds a code that does not exist") }
                guard length <= available else { throw CodecError("Huffman stream ends early") }
                out.pointee = UInt8(truncatingIfNeeded: entry)
                out += 1
                bits >>= length
                available -= length
            }
        }

        /// Decodes several symbols a lookup while 4 bytes of output and 8 of input (the padding included)
        /// remain, checking each lookup: most of what the interleaved loop leaves when the first stream
        /// nears its end (the streams' coded sizes differ by up to a few thousand symbols; one symbol at a
        /// time, those took 5% of BF16 decompression). A stream with fewer symbols than its length says
        /// may decode its padding here; its end check then fails.
        mutating func decodeNearEnd<Entry: MultiSymbolEntry>(_ table: UnsafeBufferPointer<Entry>) throws {
            while outEnd - out >= 4 && end - next >= 8 {
                if available < UInt64(Entry.indexBits) { refill() }
                let entry = table[Int(bits & UInt64(1 << Entry.indexBits - 1))]
                guard entry.count > 0 else { throw CodecError("Huffman stream holds a code that does not exist") }
                UnsafeMutableRawPointer(out).storeBytes(of: entry.stored, as: UInt32.self)
                out += entry.count
                let used = entry.shift & 63
                bits &>>= used
                available &-= used
            }
        }

        /// Bytes of the stream consumed by the symbols decoded so far (whole bytes, rounded up).
        func consumedBytes(from start: UnsafeRawPointer) -> Int {
            (8 * (next - start) - Int(available) + 7) / 8
        }
    }

    /// A stream in the fast loop's form: the accumulator keeps a marker bit just above its valid bits, so
    /// the bits consumed since the last refill follow from the marker's position (one leading-zero count
    /// a refill) and a lookup only shifts, with no count of available bits to keep per lookup.
    struct FastStream {
        /// The byte the accumulator was last loaded from.
        var next: UnsafeRawPointer
        var bits: UInt64 = 1 << 63
        var out: UnsafeMutablePointer<UInt8>
        let end: UnsafeRawPointer
        let outEnd: UnsafeMutablePointer<UInt8>

        /// A stream that has not been read from yet.
        init(_ reader: StreamReader) {
            precondition(reader.available == 0)
            (next, out, end, outEnd) = (reader.next, reader.out, reader.end, reader.outEnd)
        }

        /// Bits consumed since `next`: a refill puts the marker at bit 63 - (the bit offset it loads from),
        /// and every bit consumed since moves it one lower.
        @inline(__always) var consumed: Int { bits.leadingZeroBitCount }

        /// Moves to the byte of the next unread bit and loads 63 - (its bit offset) bits, at least 56
        /// (four lookups of 13 bits use at most 52), with the marker above them.
        @inline(__always) mutating func refill() {
            let offset = consumed
            next += offset &>> 3
            bits = (UInt64(littleEndian: next.loadUnaligned(as: UInt64.self)) | 1 << 63) &>> UInt64(offset & 7)
        }

        /// Up to `Entry.maxSymbols` symbols from one lookup. An entry for bits that begin no code writes
        /// none and consumes all the bits it is indexed by: the streams' end check and the chunk checksum
        /// reject such data.
        @inline(__always) mutating func step<Entry: MultiSymbolEntry>(_ table: UnsafeBufferPointer<Entry>) {
            let entry = table[Int(bits & UInt64(1 << Entry.indexBits - 1))]
            UnsafeMutableRawPointer(out).storeBytes(of: entry.stored, as: UInt32.self)
            out += entry.count
            bits = bits &>> entry.shift
        }

        /// Rounds (one refill, four lookups) that can run without any check: each writes at most 16
        /// symbols (storing 4 bytes a lookup), and loads 8 bytes at most 7 bytes further on than the last
        /// (at most 52 bits consumed from a bit offset of at most 7).
        var safeRounds: Int {
            let input = end - next - padding
            return input < 0 ? 0 : min((outEnd - out) / 16, input / 7)
        }

        /// The same position in `StreamReader`'s form.
        var reader: StreamReader {
            let byte = next + consumed &>> 3, shift = UInt64(consumed & 7)
            var reader = StreamReader(next: byte, end: end, out: out, outEnd: outEnd)
            if shift > 0 {
                reader.bits = UInt64(byte.load(as: UInt8.self)) &>> shift
                reader.available = 8 &- shift
                reader.next += 1
            }
            return reader
        }
    }

    /// Prefetches the companion buffers of `decode` a cache line a round, at the same offset in each and
    /// each to its own end (F16's signs' plane is an eighth of its low bytes): a round yields about 60
    /// symbols, so the lines arrive at about the pace the planes are decoded.
    private struct Warming {
        private let buffers: [UnsafeRawBufferPointer]
        private var offset = 0
        private let end: Int

        init(_ buffers: [UnsafeRawBufferPointer]) {
            self.buffers = buffers.filter { $0.count > 0 }
            end = self.buffers.map(\.count).max() ?? 0
        }

        @inline(__always) mutating func next() {
            guard offset < end else { return }
            for buffer in buffers where offset < buffer.count { cache_prefetch_l2(buffer.baseAddress! + offset) }
            offset &+= 64
        }
    }

    /// The streams with a multi-symbol table: interleaved while none is near its end, then each alone.
    private static func decodeMultiSymbol<Entry: MultiSymbolEntry>(_ readers: inout [StreamReader], _ table: UnsafeBufferPointer<Entry>,
                                                                    _ warming: Warming) throws {
        decodeInterleaved(&readers, table, warming)
        for k in readers.indices { try readers[k].decodeNearEnd(table) }
    }

    /// The fast loop: all four streams advance together while none is near the end of its input or output.
    /// (Never inlined: its registers are allotted best on its own.)
    @inline(never)
    private static func decodeInterleaved<Entry: MultiSymbolEntry>(_ readers: inout [StreamReader], _ table: UnsafeBufferPointer<Entry>,
                                                                    _ warming: Warming) {
        var r0 = FastStream(readers[0]), r1 = FastStream(readers[1]), r2 = FastStream(readers[2]), r3 = FastStream(readers[3])
        var warming = warming
        while true {
            let rounds = min(min(r0.safeRounds, r1.safeRounds), min(r2.safeRounds, r3.safeRounds))
            if rounds == 0 { break }
            for _ in 0..<rounds {
                warming.next()
                r0.refill(); r1.refill(); r2.refill(); r3.refill()
                r0.step(table); r1.step(table); r2.step(table); r3.step(table)
                r0.step(table); r1.step(table); r2.step(table); r3.step(table)
                r0.step(table); r1.step(table); r2.step(table); r3.step(table)
                r0.step(table); r1.step(table); r2.step(table); r3.step(table)
            }
        }
        readers = [r0.reader, r1.reader, r2.reader, r3.reader]
    }
}
