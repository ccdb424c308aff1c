import Kernels

/// How one byte plane is stored: raw, constant, rANS, Huffman, or (for mantissa planes with repeats,
/// such as the rows of an embedding that training never touched) lz4 or zstd.
public enum PlaneEncoding: UInt8, Sendable {
    case raw = 0
    case constant = 1
    case rans = 2
    case huffman = 3
    case lz4 = 4
    case zstd = 5
}

/// Encodes and decodes byte planes. Layout of an encoded plane: encoding (u8), payload length (u32 LE),
/// payload.
enum PlaneCodec {
    /// Coding is kept only when it saves at least this fraction; otherwise raw is both smaller to decode
    /// and barely larger.
    static let minimumSaving = 0.01
    /// Huffman is chosen unless rANS would be smaller by more than this fraction: Huffman decodes several
    /// times faster, and on trained weights' exponents it costs about 1.4% more bytes than rANS.
    static let huffmanTolerance = 0.02
    /// Planes with more order-0 entropy than this (bits a byte: mantissa-like) that hold runs of zero bytes
    /// or whose histogram is still visibly uneven (a saving of at least `repeatSearchSaving`) are also
    /// tried with lz4 and zstd, which find what order-0 coders cannot: repeated runs, such as the rows of
    /// an embedding that training never touched (stored at lower precision, their low bytes are zero).
    static let repeatSearchEntropy = 6.0
    static let repeatSearchSaving = 0.003

    /// Appends `plane` to `out`, coded as small as the choices above allow; `census` is what the caller
    /// counted of it already.
    static func encode(_ plane: UnsafeBufferPointer<UInt8>, census: PlaneCensus? = nil, into out: inout [UInt8]) {
        // A plane the caller counted is plane 0 (exponents), which is never raw and rarely mantissa-like:
        // its zero-run check waits until the repeat search below needs it.
        let checkedZeroRuns = census == nil ? PlaneProbe.hasZeroRuns(plane) : nil
        if checkedZeroRuns == false && PlaneProbe.looksIncompressible(plane, minimumSaving: minimumSaving) {
            append(.raw, plane, to: &out)
            return
        }
        let (histogram, exact) = census?.histogram(of: plane) ?? (PlaneProbe.histogram(plane), true)
        if histogram.counts.reduce(0, { $0 + ($1 > 0 ? 1 : 0) }) == 1, let first = plane.first {
            append(.constant, [first], to: &out)
            return
        }
        let limit = Double(plane.count) * (1 - minimumSaving)
        let entropyBytes = histogram.entropy * Double(plane.count) / 8
        var best = entropyCoded(plane, histogram, exact: exact, limit: limit)
        let bitsPerByte = entropyBytes * 8 / Double(plane.count)
        if bitsPerByte > repeatSearchEntropy, let repeats = repeatCoded(plane, zeroRuns: checkedZeroRuns, bitsPerByte: bitsPerByte, limit: limit),
           repeats.payload.count < best?.payload.count ?? plane.count {
            best = repeats
        }
        if let best {
            append(best.encoding, best.payload, to: &out)
        } else {
            append(.raw, plane, to: &out)
        }
    }

    /// Huffman, or rANS where that is smaller by more than `huffmanTolerance`; nil when neither codes
    /// `plane` in `limit` bytes. Counts from a sample (not `exact`) only ever choose Huffman: where they
    /// favour rANS, the plane is counted exactly and the choice made again, so that a sample's noise does
    /// not tip close cases to rANS, which decodes several times slower.
    private static func entropyCoded(_ plane: UnsafeBufferPointer<UInt8>, _ histogram: BitFieldHistogram, exact: Bool,
                                     limit: Double) -> (encoding: PlaneEncoding, payload: [UInt8])? {
        let present = histogram.counts.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        let entropyBytes = histogram.entropy * Double(plane.count) / 8
        guard present > 1 && entropyBytes < limit else { return nil }
        return histogram.counts.withUnsafeBufferPointer { counts in
            let ransEstimate = entropyBytes + Double(RANS.overheadBytes(symbols: present))
            if let lengths = Huffman.codeLengths(counts) {
                let huffmanSize = Double(Huffman.encodedSize(lengths, counts))
                if huffmanSize < limit && huffmanSize <= ransEstimate * (1 + huffmanTolerance) {
                    return (.huffman, Huffman.encode(plane, lengths: lengths))
                }
            }
            guard exact else { return entropyCoded(plane, PlaneProbe.histogram(plane), exact: true, limit: limit) }
            // rANS needs at least the entropy and its table: where even that saves too little
            // (near-uniform planes, small ones), it is not worth running.
            guard ransEstimate < limit else { return nil }
            let coded = RANS.encode(plane, counts: counts)
            return Double(coded.count) < limit ? (.rans, coded) : nil
        }
    }

    /// lz4 or zstd, whichever is smaller, for a mantissa-like plane with zero runs (checked here if
    /// `zeroRuns` is nil) or a visibly uneven histogram; nil when neither saves down to `limit` bytes.
    /// lz4 goes first: it is fast where it finds nothing, and where it finds no repeats zstd, whose extra
    /// over lz4 is an order-0 stage already tried, finds none worth having either.
    private static func repeatCoded(_ plane: UnsafeBufferPointer<UInt8>, zeroRuns: Bool?, bitsPerByte: Double,
                                    limit: Double) -> (encoding: PlaneEncoding, payload: [UInt8])? {
        let zeroRuns = zeroRuns ?? PlaneProbe.hasZeroRuns(plane)
        guard zeroRuns || bitsPerByte < 8 * (1 - repeatSearchSaving) else { return nil }
        var best: (encoding: PlaneEncoding, payload: [UInt8])?
        let lz4 = ByteCodec.lz4.compress(UnsafeRawBufferPointer(plane))
        if let lz4, Double(lz4.count) < limit { best = (.lz4, lz4) }
        if zeroRuns || best != nil, let zstd = ByteCodec.zstd(level: 1).compress(UnsafeRawBufferPointer(plane)),
           Double(zstd.count) < limit, zstd.count < best?.payload.count ?? plane.count {
            best = (.zstd, zstd)
        }
        return best
    }

    private static func append(_ encoding: PlaneEncoding, _ payload: [UInt8], to out: inout [UInt8]) {
        payload.withUnsafeBufferPointer { append(encoding, $0, to: &out) }
    }

    private static func append(_ encoding: PlaneEncoding, _ payload: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(encoding.rawValue)
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: payload)
    }

    /// Moves `reader` past the next plane without decoding it.
    static func skip(_ reader: inout ByteReader) throws {
        _ = try reader.byte()
        _ = try reader.bytes(Int(try reader.u32()))
    }

    /// If the next plane is stored raw with `count` bytes, consumes it and returns where it lies;
    /// otherwise leaves the reader where it was and returns nil.
    static func rawPlane(_ reader: inout ByteReader, count: Int) throws -> UnsafeRawBufferPointer? {
        var peek = reader
        guard try peek.byte() == PlaneEncoding.raw.rawValue else { return nil }
        let length = Int(try peek.u32())
        guard length == count else { throw CodecError("raw plane of \(length) bytes, expected \(count)") }
        let bytes = try peek.bytes(length)
        reader = peek
        return bytes
    }

    /// Decodes one plane starting at `reader`'s position into `output` (whose size the caller knows);
    /// a Huffman plane warms `companions` into the cache meanwhile (see `Huffman.decode`).
    static func decode(_ reader: inout ByteReader, into output: UnsafeMutableBufferPointer<UInt8>,
                       warming companions: [UnsafeRawBufferPointer] = []) throws {
        let tag = try reader.byte()
        let length = Int(try reader.u32())
        let payload = try reader.bytes(length)
        switch PlaneEncoding(rawValue: tag) {
        case .raw:
            guard length == output.count else { throw CodecError("raw plane of \(length) bytes, expected \(output.count)") }
            if length > 0 { UnsafeMutableRawBufferPointer(output).copyMemory(from: payload) }
        case .constant:
            guard length == 1 else { throw CodecError("constant plane with \(length) bytes") }
            output.update(repeating: payload[0])
        case .rans:
            try RANS.decode(payload, into: output)
        case .huffman:
            try Huffman.decode(payload, into: output, warming: companions)
        case .lz4:
            try ByteCodec.lz4.decompress(payload, into: UnsafeMutableRawBufferPointer(output))
        case .zstd:
            try ByteCodec.zstd(level: 0).decompress(payload, into: UnsafeMutableRawBufferPointer(output))
        case nil:
            throw CodecError("unknown plane encoding \(tag)")
        }
    }
}

/// Bounds-checked sequential reading of a compressed chunk.
struct ByteReader {
    let data: UnsafeRawBufferPointer
    var position = 0

    init(_ data: UnsafeRawBufferPointer) { self.data = data }

    var remaining: Int { data.count - position }

    mutating func bytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw CodecError("chunk data ends early") }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: data[position..<(position + count)])
    }

    mutating func byte() throws -> UInt8 { try bytes(1)[0] }

    mutating func u32() throws -> UInt32 {
        UInt32(littleEndian: try bytes(4).loadUnaligned(as: UInt32.self))
    }
}
