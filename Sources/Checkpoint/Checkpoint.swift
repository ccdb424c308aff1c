#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Kernels

/// The on-disk format of a checkpoint, as detected from its first bytes.
public enum CheckpointFormat: String, Sendable {
    case safetensors
    case gguf = "GGUF"
    case shardedSafetensors = "safetensors (sharded)"
}

/// A piece of one tensor's bytes, delivered in data order while a checkpoint streams.
public struct TensorChunk {
    /// Index into `Checkpoint.tensors`.
    public let tensorIndex: Int
    /// Offset of `bytes` within the tensor's bytes (a multiple of its type's block size).
    public let byteOffset: Int
    public let bytes: UnsafeRawBufferPointer
}

/// One checkpoint in any supported format: ordered named tensors with type, shape and metadata, and lazy
/// access to their bytes. Files are memory-mapped (random access); pipes are read once, in data order.
public final class Checkpoint {
    /// The path as given, or "<stdin>".
    public let name: String
    public let format: CheckpointFormat
    /// Tensors in the order the file lists them.
    public let tensors: [TensorInfo]
    /// Metadata in file order (safetensors metadata as strings).
    public let metadata: [(key: String, value: GGUFValue)]
    /// The parsed safetensors header (single-file safetensors only).
    public let safetensorsHeader: SafetensorsHeader?
    /// The parsed GGUF header (GGUF only).
    public let ggufHeader: GGUFHeader?
    /// Total bytes of the file(s), when known.
    public let fileSize: Int?

    private enum Storage {
        /// Mapped shard files, each with the file offset of its data section; `shardOf[i]` for tensor i.
        case mapped(shards: [MappedFile], dataStart: [Int], shardOf: [Int])
        case stream(StreamReader)
        /// A .nz container, decoded record by record (random access through its index for files).
        case nz(NZDecoder, cache: NZTensorCache)
    }
    private let storage: Storage
    private var streamConsumed = false
    /// The raw header bytes of a pipe, kept while it was parsed.
    private var recordedHeader: [UInt8] = []
    /// The input this checkpoint was opened from (single files and pipes).
    private var source: InputSource?

    /// Throws when the input file changed during the run (see `InputSource.verifyUnchanged`).
    public func verifyUnchanged() throws { try source?.verifyUnchanged() }

    private init(name: String, format: CheckpointFormat, tensors: [TensorInfo], metadata: [(key: String, value: GGUFValue)],
                 safetensorsHeader: SafetensorsHeader? = nil, ggufHeader: GGUFHeader? = nil, fileSize: Int?, storage: Storage) {
        self.name = name
        self.format = format
        self.tensors = tensors
        self.metadata = metadata
        self.safetensorsHeader = safetensorsHeader
        self.ggufHeader = ggufHeader
        self.fileSize = fileSize
        self.storage = storage
    }

    /// True when tensors can be read in any order (a file, not a pipe).
    public var isRandomAccess: Bool {
        switch storage {
        case .mapped: return true
        case .stream: return false
        case .nz(let decoder, _): return decoder.isRandomAccess
        }
    }

    /// True when the checkpoint is read out of a .nz container.
    public var isCompressed: Bool {
        if case .nz = storage { return true }
        return false
    }

    /// The index of the tensor named `name`, or nil.
    public func index(of name: String) -> Int? { tensors.firstIndex { $0.name == name } }

    /// Tensor indices in the order their bytes appear.
    public var dataOrder: [Int] {
        tensors.indices.sorted { (tensors[$0].dataOffset, $0) < (tensors[$1].dataOffset, $1) }
    }

    /// Total stored bytes of all tensors.
    public var tensorBytes: Int { tensors.reduce(0) { $0 + $1.byteCount } }

    /// Total elements of all tensors.
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.elementCount } }

    /// The bytes of tensor `index`, in place (random-access checkpoints only). For a .nz file they are
    /// decoded into a buffer that stays valid until the next call.
    public func bytes(of index: Int) throws -> UnsafeRawBufferPointer {
        if case .nz(let decoder, let cache) = storage {
            return try cache.bytes(of: index) { try decoder.tensorBytes(index) }
        }
        guard case .mapped(let shards, let dataStart, let shardOf) = storage else {
            throw CheckpointError(file: name, "random access to tensors needs a file, not a pipe")
        }
        let tensor = tensors[index]
        let shard = shardOf[index]
        let start = dataStart[shard] + tensor.dataOffset
        return UnsafeRawBufferPointer(rebasing: shards[shard].bytes[start..<(start + tensor.byteCount)])
    }

    /// Decodes tensor `index` to Float (random-access checkpoints only).
    public func floats(of index: Int) throws -> [Float] {
        let tensor = tensors[index]
        let raw = try bytes(of: index)
        return try [Float](unsafeUninitializedCapacity: tensor.elementCount) { buffer, count in
            do { try ElementCodec.decode(tensor.type, raw, into: buffer) } catch let error as FormatError {
                throw CheckpointError(file: name, "tensor '\(tensor.name)': \(error.message)")
            }
            count = tensor.elementCount
        }
    }

    /// Delivers every tensor's bytes in data order, in chunks of at most about `chunkBytes` (whole blocks).
    /// A pipe can be streamed once; memory stays bounded by one chunk.
    public func streamTensors(chunkBytes: Int = 8 << 20, _ body: (TensorChunk) throws -> Void) throws {
        try streamDataSection(chunkBytes: chunkBytes) { segment in
            if case .tensor(let chunk) = segment { try body(chunk) }
        }
    }

    /// A piece of the data section: tensor bytes, or bytes between and after tensors (GGUF's alignment
    /// padding, or whatever a file carries after its last tensor).
    public enum DataSegment {
        case tensor(TensorChunk)
        case gap(UnsafeRawBufferPointer)
    }

    /// Delivers the whole data section, every byte of it in file order: tensor chunks and the gaps
    /// between them. With the header bytes (`headerBytes()`) this is the entire file.
    public func streamDataSection(chunkBytes: Int = 8 << 20, _ body: (DataSegment) throws -> Void) throws {
        if case .nz(let decoder, _) = storage {
            // The records are the data section: tensor chunks as the encoder cut them, and the gaps.
            var produced = [Int](repeating: 0, count: tensors.count)
            _ = try decoder.decodeRecords(threads: Parallel.coreCount) { header, bytes in
                guard header.tensorIndex != NZFormat.noTensor else { return try body(.gap(bytes)) }
                let index = Int(header.tensorIndex)
                try body(.tensor(TensorChunk(tensorIndex: index, byteOffset: produced[index], bytes: bytes)))
                produced[index] += bytes.count
            }
            return
        }
        var buffer: UnsafeMutableRawBufferPointer?
        defer { buffer?.deallocate() }
        if case .stream = storage {
            guard !streamConsumed else { throw CheckpointError(file: name, "a pipe can be read only once") }
            streamConsumed = true
            // Big enough for one step of any type (the largest ggml block is under 512 bytes).
            buffer = .allocate(byteCount: chunkBytes + 512, alignment: 64)
        }
        var position = 0
        for index in dataOrder {
            let tensor = tensors[index]
            let step = max(tensor.type.blockBytes, chunkBytes / max(tensor.type.blockBytes, 1) * tensor.type.blockBytes)
            switch storage {
            case .nz:
                return
            case .mapped(let shards, let dataStart, _):
                if shards.count == 1 && tensor.dataOffset > position {
                    try deliverGap(UnsafeRawBufferPointer(rebasing: shards[0].bytes[(dataStart[0] + position)..<(dataStart[0] + tensor.dataOffset)]), chunkBytes, body)
                }
                let all = try bytes(of: index)
                var offset = 0
                repeat {
                    let end = min(all.count, offset + step)
                    try body(.tensor(TensorChunk(tensorIndex: index, byteOffset: offset, bytes: UnsafeRawBufferPointer(rebasing: all[offset..<end]))))
                    offset = end
                    if shards.count == 1 { shards[0].release(before: dataStart[0] + tensor.dataOffset + offset) }
                } while offset < all.count
            case .stream(let reader):
                guard let buffer else { return }
                var gap = tensor.dataOffset - position
                while gap > 0 {
                    let n = min(gap, chunkBytes)
                    let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
                    try reader.read(into: target, what: "padding before tensor '\(tensor.name)'")
                    try body(.gap(UnsafeRawBufferPointer(target)))
                    gap -= n
                }
                var offset = 0
                repeat {
                    let n = min(step, tensor.byteCount - offset)
                    let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
                    try reader.read(into: target, what: "tensor '\(tensor.name)'")
                    try body(.tensor(TensorChunk(tensorIndex: index, byteOffset: offset, bytes: UnsafeRawBufferPointer(target))))
                    offset += n
                } while offset < tensor.byteCount
            }
            position = max(position, tensor.dataOffset + tensor.byteCount)
        }
        try deliverTrailer(after: position, chunkBytes: chunkBytes, buffer: buffer, body)
    }

    /// What follows the last tensor: nothing for safetensors (the reference reader forbids it), any
    /// bytes for GGUF (normally the alignment padding), delivered as a gap.
    private func deliverTrailer(after position: Int, chunkBytes: Int, buffer: UnsafeMutableRawBufferPointer?, _ body: (DataSegment) throws -> Void) throws {
        switch storage {
        case .nz:
            return
        case .mapped(let shards, let dataStart, _):
            guard shards.count == 1 else { return }
            let start = dataStart[0] + position
            if start < shards[0].bytes.count {
                try deliverGap(UnsafeRawBufferPointer(rebasing: shards[0].bytes[start...]), chunkBytes, body)
            }
        case .stream(let reader):
            guard ggufHeader != nil, let buffer else {
                if try !reader.atEnd() { throw CheckpointError(file: name, "unexpected data after the last tensor") }
                return
            }
            while true {
                let n = try reader.readSome(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<chunkBytes]))
                if n == 0 { break }
                try body(.gap(UnsafeRawBufferPointer(rebasing: buffer[0..<n])))
            }
        }
    }

    private func deliverGap(_ bytes: UnsafeRawBufferPointer, _ chunkBytes: Int, _ body: (DataSegment) throws -> Void) throws {
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunkBytes)
            try body(.gap(UnsafeRawBufferPointer(rebasing: bytes[offset..<end])))
            offset = end
        }
    }

    /// The file's bytes before its data section: the safetensors length and JSON, or the GGUF header with
    /// its padding. Single files only.
    public func headerBytes() throws -> [UInt8] {
        switch storage {
        case .mapped(let shards, let dataStart, _):
            guard shards.count == 1 else { throw CheckpointError(file: name, "a sharded checkpoint has no single header; use its shard files") }
            return Array(shards[0].bytes[0..<dataStart[0]])
        case .stream:
            return recordedHeader
        case .nz(let decoder, _):
            return decoder.originalHeader
        }
    }

    // MARK: opening

    /// Opens a checkpoint from a path, a directory holding one, or "-" for standard input. The format is
    /// detected from the first bytes.
    public static func open(_ path: String) throws -> Checkpoint {
        if path != "-" {
            var info = stat()
            if stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
                return try openDirectory(path)
            }
        }
        return try open(InputSource.open(path))
    }

    /// Opens a checkpoint from an already opened input.
    public static func open(_ source: InputSource) throws -> Checkpoint {
        let checkpoint: Checkpoint
        if try source.isNZ() {
            checkpoint = try openNZ(NZDecoder(source))
            checkpoint.source = source
            return checkpoint
        }
        switch source.kind {
        case .mapped(let file): checkpoint = try openMapped(file, name: source.name, directory: source.directory)
        case .stream(let reader): checkpoint = try openStream(reader, name: source.name)
        }
        if checkpoint.format != .shardedSafetensors { checkpoint.source = source }
        return checkpoint
    }

    private static func openDirectory(_ path: String) throws -> Checkpoint {
        for candidate in ["model.safetensors.index.json", "model.safetensors"] {
            let full = path.hasSuffix("/") ? path + candidate : path + "/" + candidate
            if access(full, F_OK) == 0 { return try open(full) }
        }
        throw CheckpointError(file: path, "is a directory without model.safetensors.index.json or model.safetensors")
    }

    private static func openMapped(_ file: MappedFile, name: String, directory: String) throws -> Checkpoint {
        let bytes = file.bytes
        do {
            switch try detect(Array(bytes.prefix(9)), totalKnown: bytes.count) {
            case .gguf:
                var cursor = MemoryCursor(bytes)
                let header = try GGUFParser.parse(&cursor, fileSize: bytes.count)
                return Checkpoint(name: name, format: .gguf, tensors: header.tensors, metadata: header.metadata,
                                  ggufHeader: header, fileSize: bytes.count,
                                  storage: .mapped(shards: [file], dataStart: [header.dataSectionOffset], shardOf: header.tensors.map { _ in 0 }))
            case .safetensors:
                let header = try parseSafetensors(bytes)
                let dataStart = bytes.count - header.dataLength
                return Checkpoint(name: name, format: .safetensors, tensors: header.tensors,
                                  metadata: (header.metadata ?? []).map { ($0.key, GGUFValue.text($0.value)) },
                                  safetensorsHeader: header, fileSize: bytes.count,
                                  storage: .mapped(shards: [file], dataStart: [dataStart], shardOf: header.tensors.map { _ in 0 }))
            case .shardIndex:
                return try ShardedCheckpoint.open(indexBytes: bytes, name: name, directory: directory)
            }
        } catch let error as FormatError {
            throw error.at(name)
        }
    }

    private static func openStream(_ reader: StreamReader, name: String) throws -> Checkpoint {
        reader.startRecording()
        let checkpoint = try parseStream(reader, name: name)
        checkpoint.recordedHeader = reader.stopRecording()
        return checkpoint
    }

    private static func parseStream(_ reader: StreamReader, name: String) throws -> Checkpoint {
        do {
            let head = try reader.peek(9)
            switch try detect(head, totalKnown: nil) {
            case .gguf:
                var cursor = StreamCursor(reader: reader)
                let header = try GGUFParser.parse(&cursor, fileSize: nil)
                try reader.skip(header.dataSectionOffset - reader.position, what: "padding before the data section")
                return Checkpoint(name: name, format: .gguf, tensors: header.tensors, metadata: header.metadata,
                                  ggufHeader: header, fileSize: nil, storage: .stream(reader))
            case .safetensors:
                let lengthBytes = try reader.read(count: 8, what: "header length")
                let length = lengthBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                guard length <= UInt64(SafetensorsHeader.maxHeaderLength) else {
                    throw FormatError("header length \(length) exceeds the limit of \(SafetensorsHeader.maxHeaderLength)")
                }
                let json = try reader.read(count: Int(length), what: "header")
                let header = try json.withUnsafeBytes { try SafetensorsHeader.parse(json: $0) }
                return Checkpoint(name: name, format: .safetensors, tensors: header.tensors,
                                  metadata: (header.metadata ?? []).map { ($0.key, GGUFValue.text($0.value)) },
                                  safetensorsHeader: header, fileSize: nil, storage: .stream(reader))
            case .shardIndex:
                throw FormatError("a sharded checkpoint index must be opened as a file, not read from a pipe")
            }
        } catch let error as FormatError {
            throw error.at(name)
        }
    }

    /// A .nz container seen as the checkpoint it holds.
    private static func openNZ(_ decoder: NZDecoder) throws -> Checkpoint {
        let header = decoder.originalHeader
        do {
            if decoder.format == .gguf {
                let gguf = try header.withUnsafeBytes { raw in
                    var cursor = MemoryCursor(raw)
                    return try GGUFParser.parse(&cursor, fileSize: nil)
                }
                return Checkpoint(name: decoder.name, format: .gguf, tensors: gguf.tensors, metadata: gguf.metadata, ggufHeader: gguf,
                                  fileSize: nil, storage: .nz(decoder, cache: NZTensorCache()))
            }
            let parsed = try header.withUnsafeBytes { try SafetensorsHeader.parse(json: UnsafeRawBufferPointer(rebasing: $0[8...])) }
            return Checkpoint(name: decoder.name, format: .safetensors, tensors: parsed.tensors,
                              metadata: (parsed.metadata ?? []).map { ($0.key, GGUFValue.text($0.value)) },
                              safetensorsHeader: parsed, fileSize: nil, storage: .nz(decoder, cache: NZTensorCache()))
        } catch let error as FormatError {
            throw error.at(decoder.name)
        }
    }

    /// Validates a whole safetensors file in memory and returns its header.
    static func parseSafetensors(_ bytes: UnsafeRawBufferPointer) throws -> SafetensorsHeader {
        guard bytes.count >= 8 else { throw FormatError("file of \(bytes.count) bytes is too short for a safetensors header") }
        let length = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard length <= UInt64(SafetensorsHeader.maxHeaderLength) else {
            throw FormatError("header length \(length) exceeds the limit of \(SafetensorsHeader.maxHeaderLength)")
        }
        guard Int(length) <= bytes.count - 8 else {
            throw FormatError("header length \(length) runs past the end of the file (\(bytes.count) bytes)")
        }
        let header = try SafetensorsHeader.parse(json: UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + Int(length))]))
        let buffer = bytes.count - 8 - Int(length)
        guard header.dataLength == buffer else {
            throw FormatError(header.dataLength > buffer
                ? "truncated: tensors need \(header.dataLength) data bytes but the file has \(buffer)"
                : "\(buffer - header.dataLength) bytes of trailing data after the last tensor")
        }
        return header
    }

    private enum DetectedFormat { case gguf, safetensors, shardIndex }

    /// Recognises a format from its first bytes.
    private static func detect(_ head: [UInt8], totalKnown: Int?) throws -> DetectedFormat {
        if head.starts(with: GGUFParser.magic) { return .gguf }
        if head.starts(with: NZFormat.magic) { throw FormatError("is a .nz file: restore it with nunzip first") }
        // safetensors: a u64 header length below 2^32 (so four zero bytes), then the JSON's '{'.
        if head.count >= 9 && head[4..<8].allSatisfy({ $0 == 0 }) && head[8] == UInt8(ascii: "{") { return .safetensors }
        if let first = head.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }), first == UInt8(ascii: "{") {
            return .shardIndex
        }
        if head.count < 8 { throw FormatError("input of \(head.count) bytes is too short to be a checkpoint") }
        if head[4..<8].allSatisfy({ $0 == 0 }) { return .safetensors }
        let shown = head.prefix(8).map { byte in String(byte, radix: 16).count == 1 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }
        throw FormatError("unrecognised format (first bytes \(shown.joined(separator: " "))): not safetensors, GGUF or a shard index")
    }

    /// Builds a sharded checkpoint from already opened shards (used by `ShardedCheckpoint`).
    static func sharded(name: String, shards: [(file: MappedFile, header: SafetensorsHeader)], tensorOrder: [(shard: Int, tensor: TensorInfo)],
                        metadata: [(key: String, value: GGUFValue)]) -> Checkpoint {
        Checkpoint(name: name, format: .shardedSafetensors, tensors: tensorOrder.map(\.tensor), metadata: metadata,
                   fileSize: shards.reduce(0) { $0 + $1.file.bytes.count },
                   storage: .mapped(shards: shards.map(\.file),
                                    dataStart: shards.map { $0.file.bytes.count - $0.header.dataLength },
                                    shardOf: tensorOrder.map(\.shard)))
    }
}
