import Kernels
import NeuZip

/// Settings of a compression run.
public struct NZOptions: Sendable {
    /// Mantissa bits to keep (lossy); nil for lossless.
    public var keptMantissaBits: Int?
    /// Codec for everything that is not a BF16/F16/F32 tensor.
    public var byteCodec: ByteCodec = .zstd(level: 3)
    /// Threads for chunk coding (at least 1).
    public var threads: Int = 1
    /// Chunk size in bytes of original data.
    public var chunkBytes: Int = 1 << 20

    public init(keptMantissaBits: Int? = nil, byteCodec: ByteCodec = .zstd(level: 3), threads: Int = 1, chunkBytes: Int = 1 << 20) {
        self.keptMantissaBits = keptMantissaBits
        self.byteCodec = byteCodec
        self.threads = max(1, threads)
        self.chunkBytes = chunkBytes
    }
}

/// What a run wrote, per tensor and in total.
public struct NZSummary: Sendable {
    public struct TensorEntry: Sendable {
        public var name: String
        public var type: TensorType
        public var shape: [Int]
        public var originalBytes: Int
        public var storedBytes: Int
        public var codecs: Set<String>
    }
    public var originalSize = 0
    public var compressedSize = 0
    public var tensors: [TensorEntry] = []
    /// Stored bytes of the header record and of the bytes between tensors.
    public var otherStoredBytes = 0
    public var otherOriginalBytes = 0
}

/// The float layout NeuZip's codec uses for a tensor type, if it applies.
func floatLayout(of type: TensorType) -> FloatLayout? {
    switch type {
    case .bf16: return .bfloat16
    case .f16: return .float16
    case .f32: return .float32
    default: return nil
    }
}

/// Compresses a checkpoint into the .nz container, in one pass over its bytes, chunks coded in parallel
/// with a bounded number in flight.
public enum NZEncoder {
    private struct Job {
        var tensorIndex: UInt32
        var type: TensorType?
        var bytes: [UInt8]?
        var view: UnsafeRawBufferPointer
        var header = NZRecordHeader(kind: .chunk, codec: .raw, layoutCode: 0, tensorIndex: 0, rawLength: 0, storedLength: 0, checksum: 0)
        var payload: [UInt8] = []
    }

    /// Writes `checkpoint` as .nz to `sink`. `progress` receives the original bytes consumed so far.
    public static func compress(_ checkpoint: Checkpoint, to sink: ByteSink, options: NZOptions,
                                progress: ((Int) -> Void)? = nil) throws -> NZSummary {
        guard checkpoint.format != .shardedSafetensors else {
            throw CheckpointError(file: checkpoint.name, "compress each shard file of a sharded checkpoint separately")
        }
        if let kept = options.keptMantissaBits, kept < 0 {
            throw CheckpointError(file: checkpoint.name, "--mantissa-bits must be at least 0")
        }
        var summary = NZSummary()
        summary.tensors = checkpoint.tensors.map { .init(name: $0.name, type: $0.type, shape: $0.shape, originalBytes: $0.byteCount, storedBytes: 0, codecs: []) }
        let lossy = options.keptMantissaBits != nil
        let fileHeader = NZFormat.magic + [NZFormat.version, lossy ? 1 : 0, UInt8(clamping: options.keptMantissaBits ?? 0),
                                           checkpoint.format == .gguf ? 2 : 1]
        try sink.write(fileHeader)

        let header = try checkpoint.headerBytes()
        let headerPayload = header.withUnsafeBytes { ByteCodec.zstd(level: 9).compress($0) }
        var headerRecord = NZRecordHeader(kind: .header, codec: headerPayload == nil ? .raw : .zstd, layoutCode: 0, tensorIndex: NZFormat.noTensor,
                                          rawLength: header.count, storedLength: headerPayload?.count ?? header.count, checksum: 0)
        headerRecord.checksum = header.withUnsafeBytes { headerRecord.checksum(of: $0, fileHeader: fileHeader) }
        try sink.write(headerRecord.serialized())
        try sink.write(headerPayload ?? header)
        summary.otherOriginalBytes += header.count
        summary.otherStoredBytes += NZFormat.recordHeaderSize + headerRecord.storedLength
        var consumed = header.count
        progress?(consumed)

        var footer = NZFooter(originalSize: 0, entries: [])
        let copyInput = !checkpoint.isRandomAccess
        // Chunks are read on this thread, coded on `options.threads` threads, and written in order by
        // one thread at a time (`OrderedPipeline`).
        func write(_ job: Job) throws {
            if job.tensorIndex != NZFormat.noTensor {
                if footer.entries.last?.tensorIndex != job.tensorIndex {
                    footer.entries.append(.init(tensorIndex: job.tensorIndex, recordOffset: sink.bytesWritten, recordCount: 0))
                }
                footer.entries[footer.entries.count - 1].recordCount += 1
                summary.tensors[Int(job.tensorIndex)].storedBytes += NZFormat.recordHeaderSize + job.payload.count
                summary.tensors[Int(job.tensorIndex)].codecs.insert("\(job.header.codec)")
            } else {
                summary.otherOriginalBytes += job.header.rawLength
                summary.otherStoredBytes += NZFormat.recordHeaderSize + job.payload.count
            }
            try sink.write(job.header.serialized())
            try sink.write(job.payload)
            consumed += job.header.rawLength
            progress?(consumed)
        }
        try withoutActuallyEscaping(write) { write in
            let pipeline = OrderedPipeline<Job, Job>(threads: options.threads, window: NZFormat.window(threads: options.threads), work: { job in
                var job = job
                encode(&job, options: options, fileHeader: fileHeader)
                return job
            }, deliver: write)
            func add(_ tensorIndex: UInt32, _ type: TensorType?, _ bytes: UnsafeRawBufferPointer) throws {
                var job = Job(tensorIndex: tensorIndex, type: type, bytes: copyInput ? Array(bytes) : nil, view: bytes)
                if copyInput { job.view = UnsafeRawBufferPointer(start: nil, count: 0) }
                try pipeline.submit(job)
            }
            do {
                try checkpoint.streamDataSection(chunkBytes: options.chunkBytes) { segment in
                    switch segment {
                    case .tensor(let chunk):
                        guard !chunk.bytes.isEmpty else { return }
                        try add(UInt32(chunk.tensorIndex), checkpoint.tensors[chunk.tensorIndex].type, chunk.bytes)
                    case .gap(let bytes):
                        try add(NZFormat.noTensor, nil, bytes)
                    }
                }
                try pipeline.finish()
            } catch {
                pipeline.cancel()
                throw error
            }
        }
        try sink.write(NZRecordHeader.end.serialized())
        footer.originalSize = consumed
        let footerBytes = footer.serialized()
        let footerOffset = sink.bytesWritten
        try sink.write(footerBytes)
        var trailer: [UInt8] = []
        withUnsafeBytes(of: UInt64(footerOffset).littleEndian) { trailer += $0 }
        withUnsafeBytes(of: UInt64(footerBytes.count).littleEndian) { trailer += $0 }
        withUnsafeBytes(of: Checksum.of(footerBytes, seed: Checksum.of(fileHeader)).littleEndian) { trailer += $0 }
        try sink.write(trailer + NZFormat.trailerMagic)
        summary.originalSize = consumed
        summary.compressedSize = sink.bytesWritten
        return summary
    }

    /// Codes one chunk: NeuZip for floats, the byte codec for the rest, zeros as a run, raw when nothing helps.
    private static func encode(_ job: inout Job, options: NZOptions, fileHeader: [UInt8]) {
        let (tensorIndex, type) = (job.tensorIndex, job.type)
        let (header, payload) = job.bytes.map { bytes in
            bytes.withUnsafeBytes { encodeChunk($0, tensorIndex: tensorIndex, type: type, options: options, fileHeader: fileHeader) }
        } ?? encodeChunk(job.view, tensorIndex: tensorIndex, type: type, options: options, fileHeader: fileHeader)
        job.header = header
        job.payload = payload
        job.bytes = nil
    }

    private static func encodeChunk(_ input: UnsafeRawBufferPointer, tensorIndex: UInt32, type: TensorType?, options: NZOptions,
                                    fileHeader: [UInt8]) -> (NZRecordHeader, [UInt8]) {
        var header = NZRecordHeader(kind: .chunk, codec: .raw, layoutCode: 0, tensorIndex: tensorIndex,
                                    rawLength: input.count, storedLength: input.count, checksum: 0)
        var payload: [UInt8]?
        // What the decoder will return: the input, or its rounded values in lossy mode.
        var decoded: [UInt8]?
        if let type, let layout = floatLayout(of: type) {
            let kept = options.keptMantissaBits.map { min($0, layout.mantissaBits) }
            decoded = kept.flatMap { $0 < layout.mantissaBits ? roundValues(input, layout: layout, keptBits: $0) : nil }
            let coded = FloatChunkCodec.encode(input, layout: layout, keptBits: kept)
            if decoded != nil || coded.count < input.count {
                header.codec = .float
                header.layoutCode = NZRecordHeader.layoutCode(layout)
                payload = coded
            }
        } else if input.allSatisfy({ $0 == 0 }) {
            header.codec = .zeros
            payload = []
        } else if let coded = options.byteCodec.compress(input) {
            header.codec = options.byteCodec == .lz4 ? .lz4 : .zstd
            payload = coded
        }
        header.storedLength = payload?.count ?? input.count
        header.checksum = decoded.map { bytes in bytes.withUnsafeBytes { header.checksum(of: $0, fileHeader: fileHeader) } }
            ?? header.checksum(of: input, fileHeader: fileHeader)
        return (header, payload ?? Array(input))
    }

    /// The values as the lossy decoder will return them (for the checksum).
    private static func roundValues(_ input: UnsafeRawBufferPointer, layout: FloatLayout, keptBits: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: input.count)
        out.withUnsafeMutableBytes { layout.round(input, keptBits: keptBits, into: $0) }
        return out
    }
}
