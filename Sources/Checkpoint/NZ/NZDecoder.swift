#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Kernels
import NeuZip

/// What reading a .nz found: per tensor stored bytes and codecs, and totals.
public struct NZScan: Sendable {
    public var summary = NZSummary()
    /// Records read (chunks and the header).
    public var recordCount = 0
    /// Size of the .nz data read, trailer included.
    public var storedSize = 0
}

/// Reads a .nz container from a file (memory-mapped, random access by tensor) or a pipe (one pass):
/// restores the original file, verifies it, lists it, or decodes one tensor.
public final class NZDecoder {
    /// The path as given, or "<stdin>".
    public let name: String
    /// The original file's header bytes and what they describe.
    public let originalHeader: [UInt8]
    public let format: CheckpointFormat
    /// Tensors of the original file, in its listed order.
    public let tensors: [TensorInfo]
    /// Where the original file's data section starts.
    public let dataStart: Int
    /// Mantissa bits kept, for lossy files.
    public let keptMantissaBits: Int?
    /// The container's 8-byte file header (it seeds every checksum).
    private let fileHeader: [UInt8]
    private var cursor: AnyCursor
    private let mapped: MappedFile?
    private var consumed = false

    private enum AnyCursor {
        case memory(MemoryCursor)
        case stream(StreamCursor)
    }

    /// Opens `path` ("-" for standard input) and reads the container's header and the original header.
    public convenience init(path: String) throws {
        try self.init(InputSource.open(path))
    }

    private let source: InputSource

    /// Throws when the input file changed during the run (see `InputSource.verifyUnchanged`).
    public func verifyUnchanged() throws { try source.verifyUnchanged() }

    /// Reads the container's header and the original header from an opened input.
    public init(_ source: InputSource) throws {
        name = source.name
        self.source = source
        switch source.kind {
        case .mapped(let file):
            mapped = file
            cursor = .memory(MemoryCursor(file.bytes))
        case .stream(let reader):
            mapped = nil
            cursor = .stream(StreamCursor(reader: reader))
        }
        let head: [UInt8]
        do {
            head = try Self.read(&cursor, NZFormat.fileHeaderSize, "file header")
        } catch let error as FormatError {
            throw error.at(name)
        }
        guard Array(head[0..<4]) == NZFormat.magic else { throw CheckpointError(file: name, "not a .nz file (bad magic)") }
        guard head[4] == NZFormat.version else { throw CheckpointError(file: name, "unsupported .nz version \(head[4])") }
        guard head[5] <= 1, head[5] == 1 || head[6] == 0, head[7] == 1 || head[7] == 2 else {
            throw CheckpointError(file: name, "corrupt .nz file header")
        }
        keptMantissaBits = head[5] == 1 ? Int(head[6]) : nil
        fileHeader = head
        do {
            let recordHeader = try Self.readRecordHeader(&cursor)
            guard recordHeader.kind == .header else { throw FormatError("the first record is not the original header") }
            let payload = try Self.read(&cursor, recordHeader.storedLength, "header record")
            let header = try payload.withUnsafeBytes { try Self.decodePayload($0, recordHeader, fileHeader: head) }
            originalHeader = header
            (format, tensors, dataStart) = try OriginalLayout.parse(header)
            guard (format == .gguf) == (head[7] == 2) else { throw FormatError("file header and stored header disagree on the format") }
        } catch let error as FormatError {
            throw error.at(name)
        } catch let error as CodecError {
            throw CheckpointError(file: name, "header record: \(error.description)")
        }
    }

    /// True when the input is a file (random access to tensors is possible).
    public var isRandomAccess: Bool { mapped != nil }

    // MARK: restoring

    /// Decodes every record in order, verifying checksums and the layout, and writes the original file to
    /// `sink` (nil: verify only, as `-t` does). Chunks are decoded in parallel, a bounded number in flight.
    public func restore(to sink: ByteSink?, threads: Int = 1, progress: ((Int) -> Void)? = nil) throws -> NZScan {
        try sink?.write(originalHeader)
        return try decodeRecords(threads: threads, progress: progress) { _, bytes in try sink?.write(bytes) }
    }

    /// Decodes every data record in order (checksums and layout verified) and hands each one's header and
    /// decoded bytes to `body`, in file order: the original data section, record by record. Records are
    /// read on this thread and decoded on `threads` threads (`OrderedPipeline`); `body` and `progress`
    /// are called on one thread at a time, in order, not necessarily this one.
    public func decodeRecords(threads: Int = 1, progress: ((Int) -> Void)? = nil,
                              _ body: (NZRecordHeader, UnsafeRawBufferPointer) throws -> Void) throws -> NZScan {
        try beginPass()
        var scan = NZScan()
        scan.summary.tensors = tensors.map { .init(name: $0.name, type: $0.type, shape: $0.shape, originalBytes: $0.byteCount, storedBytes: 0, codecs: []) }
        var layout = LayoutCheck(tensors: tensors, dataStart: dataStart, name: name)
        let labels = layout
        // The reading side's position (records read) and the delivering side's (records handed out).
        var readPosition = originalHeader.count
        var position = originalHeader.count
        var handedOut = 0
        scan.summary.otherOriginalBytes = originalHeader.count
        progress?(position)
        let (fileHeader, mapped, name) = (fileHeader, mapped, name)
        try withoutActuallyEscaping(body) { body in
            let pipeline = OrderedPipeline<PendingRecord, DecodedRecord>(
                threads: threads, window: NZFormat.window(threads: threads),
                work: { record in
                    DecodedRecord(header: record.header, output: Result {
                        try record.payload.withBytes { try Self.decodePayload($0, record.header, fileHeader: fileHeader) }
                    }, payloadEnd: record.payloadEnd)
                },
                deliver: { record in
                    let label = labels.describe(record.header.tensorIndex, recordNumber: handedOut)
                    let output: [UInt8]
                    do { output = try record.output.get() } catch { throw CheckpointError(file: name, "\(label): \(error)") }
                    try output.withUnsafeBytes { try body(record.header, $0) }
                    position += output.count
                    handedOut += 1
                    progress?(position)
                    // Its payload is decoded: one pass over a large mapped file keeps a small resident set.
                    mapped?.release(before: record.payloadEnd)
                })
            do {
                while true {
                    let header = try readRecord()
                    if header.kind == .end { break }
                    guard header.kind == .chunk else { throw FormatError("unexpected record kind \(header.kind) after the header") }
                    try layout.accept(header, at: readPosition)
                    let payload = try readPayload(header.storedLength)
                    account(header, in: &scan)
                    readPosition += header.rawLength
                    try pipeline.submit(PendingRecord(header: header, payload: payload, payloadEnd: currentPosition))
                }
                try pipeline.finish()
            } catch {
                pipeline.cancel()
                throw (error as? FormatError).map { $0.at(name) as Error } ?? error
            }
        }
        scan.recordCount = handedOut
        do {
            try layout.finish()
            let footer = try readFooterAndTrailer()
            scan.storedSize = currentPosition
            guard footer.originalSize == position else {
                throw FormatError("footer says the original has \(footer.originalSize) bytes, the records give \(position)")
            }
        } catch let error as FormatError {
            throw error.at(name)
        }
        scan.summary.originalSize = position
        return scan
    }

    /// A record read and waiting to be decoded.
    private struct PendingRecord {
        let header: NZRecordHeader
        let payload: Payload
        /// Where its payload ends in the file.
        let payloadEnd: Int
    }

    /// A record decoded (or the error that stopped it), waiting to be handed out.
    private struct DecodedRecord {
        let header: NZRecordHeader
        let output: Result<[UInt8], Error>
        let payloadEnd: Int
    }

    /// Reads record headers only (payloads skipped): what `nzip -l` prints.
    public func scan() throws -> NZScan {
        try beginPass()
        var scan = NZScan()
        scan.summary.tensors = tensors.map { .init(name: $0.name, type: $0.type, shape: $0.shape, originalBytes: $0.byteCount, storedBytes: 0, codecs: []) }
        scan.summary.otherOriginalBytes = originalHeader.count
        var position = originalHeader.count
        var layout = LayoutCheck(tensors: tensors, dataStart: dataStart, name: name)
        do {
            while true {
                let header = try readRecord()
                if header.kind == .end { break }
                try layout.accept(header, at: position)
                try skip(header.storedLength)
                account(header, in: &scan)
                position += header.rawLength
                scan.recordCount += 1
            }
            try layout.finish()
            _ = try readFooterAndTrailer()
            scan.storedSize = currentPosition
        } catch let error as FormatError {
            throw error.at(name)
        }
        scan.summary.originalSize = position
        return scan
    }

    /// Decodes the bytes of one tensor without touching the others' records (files only).
    public func tensorBytes(_ index: Int) throws -> [UInt8] {
        guard let mapped, case .memory(var memory) = cursor else {
            throw CheckpointError(file: name, "decoding one tensor needs a file, not a pipe")
        }
        do {
            let footer = try footerOfFile(mapped.bytes)
            guard let entry = footer.entries.first(where: { $0.tensorIndex == UInt32(index) }) else {
                if tensors[index].byteCount == 0 { return [] }
                throw FormatError("the footer has no entry for tensor '\(tensors[index].name)'")
            }
            try memory.seek(to: entry.recordOffset)
            var out: [UInt8] = []
            out.reserveCapacity(tensors[index].byteCount)
            for k in 0..<entry.recordCount {
                let header = try memory.readBytes(NZFormat.recordHeaderSize, what: "record").withUnsafeBytes { try NZRecordHeader.parse($0) }
                guard header.kind == .chunk, header.tensorIndex == UInt32(index) else { throw FormatError("the footer points to a record of another tensor") }
                let payload = try memory.readBytes(header.storedLength, what: "chunk payload")
                do {
                    out += try payload.withUnsafeBytes { try Self.decodePayload($0, header, fileHeader: fileHeader) }
                } catch {
                    throw FormatError("tensor '\(tensors[index].name)' chunk \(k): \(error)")
                }
            }
            guard out.count == tensors[index].byteCount else { throw FormatError("tensor '\(tensors[index].name)' decodes to \(out.count) bytes, expected \(tensors[index].byteCount)") }
            return out
        } catch let error as FormatError {
            throw error.at(name)
        }
    }

    // MARK: reading records

    private func beginPass() throws {
        guard !consumed else { throw CheckpointError(file: name, "the input can be read only once") }
        consumed = true
    }

    private func account(_ header: NZRecordHeader, in scan: inout NZScan) {
        let stored = NZFormat.recordHeaderSize + header.storedLength
        if header.tensorIndex == NZFormat.noTensor {
            scan.summary.otherStoredBytes += stored
            scan.summary.otherOriginalBytes += header.rawLength
        } else {
            scan.summary.tensors[Int(header.tensorIndex)].storedBytes += stored
            scan.summary.tensors[Int(header.tensorIndex)].codecs.insert("\(header.codec)")
        }
    }

    private func readRecord() throws -> NZRecordHeader { try Self.readRecordHeader(&cursor) }

    /// Bytes of the .nz consumed so far.
    private var currentPosition: Int {
        switch cursor {
        case .memory(let memory): return memory.position
        case .stream(let stream): return stream.position
        }
    }

    private static func readRecordHeader(_ cursor: inout AnyCursor) throws -> NZRecordHeader {
        let bytes = try read(&cursor, NZFormat.recordHeaderSize, "record header")
        return try bytes.withUnsafeBytes { try NZRecordHeader.parse($0) }
    }

    private static func read(_ cursor: inout AnyCursor, _ count: Int, _ what: String) throws -> [UInt8] {
        switch cursor {
        case .memory(var memory):
            let bytes = try memory.readBytes(count, what: what)
            cursor = .memory(memory)
            return bytes
        case .stream(var stream):
            do {
                let bytes = try stream.readBytes(count, what: what)
                cursor = .stream(stream)
                return bytes
            } catch let error as CheckpointError {
                throw FormatError(error.message)
            }
        }
    }

    /// A record payload: a view into the mapped file, or bytes read from a pipe.
    private enum Payload {
        case view(UnsafeRawBufferPointer)
        case owned([UInt8])

        func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            switch self {
            case .view(let bytes): return try body(bytes)
            case .owned(let bytes): return try bytes.withUnsafeBytes(body)
            }
        }
    }

    /// The next `count` bytes: in place for a mapped file (the map outlives the decoder's use of it).
    private func readPayload(_ count: Int) throws -> Payload {
        if case .memory(var memory) = cursor, let mapped {
            let start = memory.position
            try memory.skip(count, what: "chunk payload")
            cursor = .memory(memory)
            return .view(UnsafeRawBufferPointer(rebasing: mapped.bytes[start..<(start + count)]))
        }
        return .owned(try Self.read(&cursor, count, "chunk payload"))
    }

    private func skip(_ count: Int) throws {
        switch cursor {
        case .memory(var memory):
            try memory.skip(count, what: "chunk payload")
            cursor = .memory(memory)
        case .stream(var stream):
            do { try stream.skip(count, what: "chunk payload") } catch let error as CheckpointError { throw FormatError(error.message) }
            cursor = .stream(stream)
        }
    }

    /// After the END record: the footer and the trailer, both checked; then nothing more.
    private func readFooterAndTrailer() throws -> NZFooter {
        let footerOffset = currentPosition
        let start = try Self.read(&cursor, 12, "footer")
        let count = Int(start.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self)) })
        guard count <= tensors.count else { throw FormatError("footer lists \(count) tensors, the header \(tensors.count)") }
        let footerBytes = start + (try Self.read(&cursor, 16 * count, "footer"))
        let trailer = try Self.read(&cursor, NZFormat.trailerSize, "trailer")
        try checkTrailer(trailer, footer: footerBytes)
        let (offset, length) = trailer.withUnsafeBytes {
            (Int(truncatingIfNeeded: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))),
             Int(truncatingIfNeeded: UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))))
        }
        guard offset == footerOffset, length == footerBytes.count else { throw FormatError("trailer does not point at the footer") }
        switch cursor {
        case .memory(let memory):
            guard memory.remaining == 0 else { throw FormatError("\(memory.remaining ?? 0) bytes after the trailer") }
        case .stream(let stream):
            guard try stream.reader.atEnd() else { throw FormatError("unexpected data after the trailer") }
        }
        return try footerBytes.withUnsafeBytes { try NZFooter.parse($0) }
    }

    private func checkTrailer(_ trailer: [UInt8], footer: [UInt8]) throws {
        guard Array(trailer[24..<28]) == NZFormat.trailerMagic else { throw FormatError("bad trailer magic (truncated?)") }
        let storedChecksum = trailer.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self)) }
        guard storedChecksum == Checksum.of(footer, seed: Checksum.of(fileHeader)) else { throw FormatError("footer checksum mismatch") }
    }

    /// The footer of a mapped file, found through the trailer at its end.
    private func footerOfFile(_ bytes: UnsafeRawBufferPointer) throws -> NZFooter {
        guard bytes.count >= NZFormat.fileHeaderSize + NZFormat.trailerSize else { throw FormatError("file too short for a trailer") }
        let trailer = Array(bytes[(bytes.count - NZFormat.trailerSize)...])
        let offset = trailer.withUnsafeBytes { Int(truncatingIfNeeded: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        let length = trailer.withUnsafeBytes { Int(truncatingIfNeeded: UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))) }
        guard offset >= 0, length >= 12, length <= bytes.count, offset <= bytes.count - NZFormat.trailerSize - length else {
            throw FormatError("trailer points outside the file")
        }
        let footer = Array(bytes[offset..<(offset + length)])
        try checkTrailer(trailer, footer: footer)
        return try footer.withUnsafeBytes { try NZFooter.parse($0) }
    }

    /// Decodes a record's payload and verifies its checksum.
    static func decodePayload(_ input: UnsafeRawBufferPointer, _ header: NZRecordHeader, fileHeader: [UInt8]) throws -> [UInt8] {
        var out: [UInt8]
        if header.codec == .zeros {
            out = [UInt8](repeating: 0, count: header.rawLength)
        } else {
            // Every other codec writes all of it (or throws).
            out = [UInt8](unsafeUninitializedCapacity: header.rawLength) { _, count in count = header.rawLength }
        }
        var checksum = ChecksumStream(seed: header.checksumSeed(fileHeader: fileHeader))
        try out.withUnsafeMutableBytes { output in
            switch header.codec {
            case .raw: output.copyMemory(from: input)
            case .zeros: guard input.isEmpty else { throw CodecError("zero run with a payload") }
            case .zstd: try ByteCodec.zstd(level: 0).decompress(input, into: output)
            case .lz4: try ByteCodec.lz4.decompress(input, into: output)
            case .float:
                guard let layout = header.floatLayout, header.rawLength % layout.byteWidth == 0 else {
                    throw CodecError("float chunk of \(header.rawLength) bytes")
                }
                // Hashed as it is made.
                try FloatChunkCodec.decode(input, layout: layout, into: output) { checksum.add($0) }
                return
            }
            checksum.add(UnsafeRawBufferPointer(output))
        }
        guard checksum.value() == header.checksum else { throw CodecError("checksum mismatch") }
        return out
    }
}

/// Checks that records rebuild the original layout: tensors in data order, each starting at its offset
/// and getting exactly its size.
private struct LayoutCheck {
    let tensors: [TensorInfo]
    let dataStart: Int
    let name: String
    var produced: [Int]
    var last: Int = -1

    init(tensors: [TensorInfo], dataStart: Int, name: String) {
        self.tensors = tensors
        self.dataStart = dataStart
        self.name = name
        produced = Array(repeating: 0, count: tensors.count)
    }

    mutating func accept(_ header: NZRecordHeader, at position: Int) throws {
        guard header.tensorIndex != NZFormat.noTensor else { return }
        let t = Int(header.tensorIndex)
        guard t < tensors.count else { throw FormatError("record names tensor \(t) of \(tensors.count)") }
        if produced[t] == 0 {
            guard t != last else { throw FormatError("empty chunk for tensor '\(tensors[t].name)'") }
            guard position == dataStart + tensors[t].dataOffset else {
                throw FormatError("tensor '\(tensors[t].name)' starts at \(position), the header says \(dataStart + tensors[t].dataOffset)")
            }
        } else {
            guard t == last else { throw FormatError("records of tensor '\(tensors[t].name)' are not contiguous") }
        }
        produced[t] += header.rawLength
        guard produced[t] <= tensors[t].byteCount else { throw FormatError("tensor '\(tensors[t].name)' gets more bytes than its size") }
        last = t
    }

    func finish() throws {
        for (t, tensor) in tensors.enumerated() where produced[t] != tensor.byteCount {
            throw FormatError("tensor '\(tensor.name)' got \(produced[t]) of its \(tensor.byteCount) bytes (truncated?)")
        }
    }

    func describe(_ tensorIndex: UInt32, recordNumber: Int) -> String {
        tensorIndex == NZFormat.noTensor || Int(tensorIndex) >= tensors.count
            ? "record \(recordNumber + 1)" : "tensor '\(tensors[Int(tensorIndex)].name)' (record \(recordNumber + 1))"
    }
}

/// The layout an original header describes.
enum OriginalLayout {
    static func parse(_ header: [UInt8]) throws -> (CheckpointFormat, [TensorInfo], Int) {
        if header.starts(with: GGUFParser.magic) {
            return try header.withUnsafeBytes { raw in
                var cursor = MemoryCursor(raw)
                let gguf = try GGUFParser.parse(&cursor, fileSize: nil)
                guard gguf.dataSectionOffset == header.count || (gguf.tensors.isEmpty && cursor.position == header.count) else {
                    throw FormatError("stored GGUF header does not end at its data section")
                }
                return (.gguf, gguf.tensors, header.count)
            }
        }
        guard header.count >= 8 else { throw FormatError("stored header is too short") }
        let length = header.withUnsafeBytes { Int(truncatingIfNeeded: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        guard length == header.count - 8 else { throw FormatError("stored safetensors header length does not match") }
        let parsed = try header.withUnsafeBytes { try SafetensorsHeader.parse(json: UnsafeRawBufferPointer(rebasing: $0[8...])) }
        return (.safetensors, parsed.tensors, header.count)
    }
}
