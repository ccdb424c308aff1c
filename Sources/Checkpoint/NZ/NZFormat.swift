import NeuZip

/// The .nz container (man/nz.5). A stream of records that covers the original file byte for byte, so it
/// can be written to and read from a pipe, then a footer that indexes the tensors for random access:
///
///     file header   "NZIP", version u8, flags u8 (bit 0: lossy), kept mantissa bits u8, source format u8
///     records       24-byte record header + payload, in original-file order:
///                   HEADER (the original header bytes), CHUNK (tensor bytes or the bytes between
///                   tensors), END
///     footer        per-tensor index (see `NZFooter`)
///     trailer       footer offset u64, footer length u64, footer checksum u64, "NZFT"
///
/// Every record carries the XXH3-64 checksum of its decoded bytes, seeded with a hash of the file header
/// and of the record header's other fields, so that a change to any byte of the file is detected; the
/// trailer's checksum covers the footer and the file header the same way.
public enum NZFormat {
    public static let magic: [UInt8] = Array("NZIP".utf8)
    public static let trailerMagic: [UInt8] = Array("NZFT".utf8)
    public static let version: UInt8 = 1
    public static let fileHeaderSize = 8
    public static let recordHeaderSize = 24
    public static let trailerSize = 28
    /// Tensor index of records that hold bytes between tensors.
    public static let noTensor = UInt32.max
    /// Limits that decoders enforce before allocating (decompression bombs are refused).
    public static let maxChunkBytes = 64 << 20
    public static let maxHeaderBytes = 1 << 30
    /// zstd rarely exceeds this ratio on real headers; a record claiming more is refused as a bomb.
    public static let maxHeaderRatio = 4096

    /// Chunks in flight (read and not yet written out) with several threads (`OrderedPipeline`'s window):
    /// enough that no thread waits for a slow one, few enough that their buffers are reused while they
    /// are in the cache, and that streaming through pipes keeps a small memory.
    static func window(threads: Int) -> Int { 4 * max(1, threads) }
}

/// Kinds of record.
public enum NZRecordKind: UInt8, Sendable {
    case header = 1
    case chunk = 2
    case end = 3
}

/// How a record's payload is coded.
public enum NZCodec: UInt8, Sendable, CustomStringConvertible {
    case raw = 0
    case float = 1
    case zstd = 2
    case lz4 = 3
    case zeros = 4

    public var description: String {
        switch self {
        case .raw: return "raw"
        case .float: return "neuzip"
        case .zstd: return "zstd"
        case .lz4: return "lz4"
        case .zeros: return "zeros"
        }
    }
}

/// The fixed 24-byte header of every record.
public struct NZRecordHeader: Sendable, Equatable {
    public var kind: NZRecordKind
    public var codec: NZCodec
    /// For `.float`: 1 BF16, 2 F16, 3 F32.
    public var layoutCode: UInt8
    public var tensorIndex: UInt32
    public var rawLength: Int
    public var storedLength: Int
    public var checksum: UInt64

    static func layoutCode(_ layout: FloatLayout) -> UInt8 {
        layout == .bfloat16 ? 1 : layout == .float16 ? 2 : 3
    }

    var floatLayout: FloatLayout? {
        switch layoutCode {
        case 1: return .bfloat16
        case 2: return .float16
        case 3: return .float32
        default: return nil
        }
    }

    /// The record that ends the data records.
    public static let end = NZRecordHeader(kind: .end, codec: .raw, layoutCode: 0, tensorIndex: NZFormat.noTensor,
                                           rawLength: 0, storedLength: 0, checksum: 0)

    /// The seed of this record's checksum: the file header and every other field of the record header.
    func checksumSeed(fileHeader: [UInt8]) -> UInt64 {
        Checksum.of(fileHeader + serialized().prefix(16))
    }

    /// The checksum of `data` as this record's decoded bytes.
    func checksum(of data: UnsafeRawBufferPointer, fileHeader: [UInt8]) -> UInt64 {
        Checksum.of(data, seed: checksumSeed(fileHeader: fileHeader))
    }

    func serialized() -> [UInt8] {
        var out: [UInt8] = [kind.rawValue, codec.rawValue, layoutCode, 0]
        withUnsafeBytes(of: tensorIndex.littleEndian) { out += $0 }
        withUnsafeBytes(of: UInt32(rawLength).littleEndian) { out += $0 }
        withUnsafeBytes(of: UInt32(storedLength).littleEndian) { out += $0 }
        withUnsafeBytes(of: checksum.littleEndian) { out += $0 }
        return out
    }

    /// Parses and sanity-checks a record header; sizes are bounded before anything is allocated.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> NZRecordHeader {
        guard let kind = NZRecordKind(rawValue: bytes[0]) else { throw FormatError("unknown record kind \(bytes[0])") }
        guard bytes[3] == 0 else { throw FormatError("reserved byte of a record header is \(bytes[3]), not 0") }
        guard let codec = NZCodec(rawValue: bytes[1]) else { throw FormatError("unknown codec \(bytes[1])") }
        let u32 = { (offset: Int) in Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) }
        let header = NZRecordHeader(kind: kind, codec: codec, layoutCode: bytes[2], tensorIndex: UInt32(u32(4)),
                                    rawLength: u32(8), storedLength: u32(12),
                                    checksum: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        switch kind {
        case .header:
            guard header.layoutCode == 0, header.tensorIndex == NZFormat.noTensor else { throw FormatError("malformed header record") }
            guard header.rawLength <= NZFormat.maxHeaderBytes,
                  header.rawLength <= max(1 << 20, header.storedLength * NZFormat.maxHeaderRatio) else {
                throw FormatError("header record declares \(header.rawLength) bytes from \(header.storedLength): refused")
            }
        case .chunk:
            guard header.rawLength <= NZFormat.maxChunkBytes else { throw FormatError("chunk declares \(header.rawLength) bytes (limit \(NZFormat.maxChunkBytes))") }
            guard header.storedLength <= header.rawLength + 65536 else { throw FormatError("chunk stores \(header.storedLength) bytes for \(header.rawLength)") }
            if codec == .float && header.floatLayout == nil { throw FormatError("float chunk with unknown layout \(bytes[2])") }
            if codec != .float && header.layoutCode != 0 { throw FormatError("layout code \(bytes[2]) on a \(codec) chunk") }
        case .end:
            guard header == .end else { throw FormatError("malformed end record") }
        }
        if codec == .raw && header.storedLength != header.rawLength { throw FormatError("raw record of \(header.storedLength) bytes declares \(header.rawLength)") }
        return header
    }
}

/// Per-tensor entries of the footer, for random access and listing.
public struct NZFooter: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var tensorIndex: UInt32
        /// Offset in the .nz file of the tensor's first record.
        public var recordOffset: Int
        public var recordCount: Int
    }

    /// Size of the original file.
    public var originalSize: Int
    public var entries: [Entry]

    func serialized() -> [UInt8] {
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(originalSize).littleEndian) { out += $0 }
        withUnsafeBytes(of: UInt32(entries.count).littleEndian) { out += $0 }
        for entry in entries {
            withUnsafeBytes(of: entry.tensorIndex.littleEndian) { out += $0 }
            withUnsafeBytes(of: UInt64(entry.recordOffset).littleEndian) { out += $0 }
            withUnsafeBytes(of: UInt32(entry.recordCount).littleEndian) { out += $0 }
        }
        return out
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> NZFooter {
        guard bytes.count >= 12 else { throw FormatError("footer too short") }
        let count = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        guard bytes.count == 12 + 16 * count else { throw FormatError("footer length does not match its \(count) entries") }
        var entries: [Entry] = []
        for k in 0..<count {
            let base = 12 + 16 * k
            entries.append(Entry(tensorIndex: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: base, as: UInt32.self)),
                                 recordOffset: Int(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: base + 4, as: UInt64.self)) & 0x7FFF_FFFF_FFFF_FFFF),
                                 recordCount: Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: base + 12, as: UInt32.self)))))
        }
        return NZFooter(originalSize: Int(UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)) & 0x7FFF_FFFF_FFFF_FFFF), entries: entries)
    }
}
