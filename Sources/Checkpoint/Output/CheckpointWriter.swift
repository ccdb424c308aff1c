/// Writes a checkpoint to a sink in one pass: the header first (it carries every offset), then the tensor
/// bytes in data order, with GGUF's alignment padding inserted. It checks that exactly the declared bytes
/// arrive, so a caller bug cannot produce a file whose header lies.
public final class CheckpointWriter {
    private let sink: ByteSink
    /// (data offset, byte count) of each tensor in data order.
    private let layout: [(offset: Int, count: Int)]
    private let alignment: Int?
    private let totalDataLength: Int
    private var current = 0
    private var writtenInCurrent = 0
    private var dataPosition = 0
    private var outputName: String

    /// Starts a safetensors file.
    public init(safetensors header: SafetensorsHeader, to sink: ByteSink, name: String) throws {
        self.sink = sink
        self.outputName = name
        layout = header.tensorsInDataOrder.map { ($0.dataOffset, $0.byteCount) }
        alignment = nil
        totalDataLength = header.dataLength
        try sink.write(header.serialized())
        skipEmptyTensors()
    }

    /// Starts a GGUF file.
    public init(gguf header: GGUFHeader, to sink: ByteSink, name: String) throws {
        self.sink = sink
        self.outputName = name
        layout = header.tensors.sorted { $0.dataOffset < $1.dataOffset }.map { ($0.dataOffset, $0.byteCount) }
        alignment = header.alignment
        totalDataLength = header.dataSectionLength
        try sink.write(header.serialized())
        skipEmptyTensors()
    }

    /// Appends the next bytes of tensor data (tensors in data order; chunks may split tensors anywhere).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            guard current < layout.count else {
                throw CheckpointError(file: outputName, "internal error: more tensor bytes than the header declares")
            }
            let tensor = layout[current]
            if writtenInCurrent == 0 {
                try sink.writeZeros(tensor.offset - dataPosition)
                dataPosition = tensor.offset
            }
            let n = min(rest.count, tensor.count - writtenInCurrent)
            try sink.write(UnsafeRawBufferPointer(rebasing: rest[0..<n]))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            writtenInCurrent += n
            dataPosition += n
            if writtenInCurrent == tensor.count {
                current += 1
                writtenInCurrent = 0
                skipEmptyTensors()
            }
        }
    }

    private func skipEmptyTensors() {
        while current < layout.count && layout[current].count == 0 { current += 1 }
    }

    /// Checks that every declared byte arrived and writes the final padding.
    public func finish() throws {
        guard current == layout.count else {
            throw CheckpointError(file: outputName, "internal error: tensor data ended early (tensor \(current) of \(layout.count))")
        }
        try sink.writeZeros(totalDataLength - dataPosition)
    }
}

extension Checkpoint {
    /// Writes this checkpoint again in its own format: for a file that follows the format's conventions
    /// (as the reference writers produce) the output is identical byte for byte.
    public func writeSameFormat(to sink: ByteSink, name: String) throws {
        let writer: CheckpointWriter
        if let ggufHeader {
            writer = try CheckpointWriter(gguf: ggufHeader, to: sink, name: name)
        } else if let safetensorsHeader {
            writer = try CheckpointWriter(safetensors: safetensorsHeader, to: sink, name: name)
        } else {
            let header = try SafetensorsHeader.contiguous(tensors.map { ($0.name, $0.type, $0.shape) },
                                                          metadata: metadata.map { ($0.key, $0.value.stringValue ?? $0.value.summary) })
            try writeTensorsInListedOrder(CheckpointWriter(safetensors: header, to: sink, name: name))
            return
        }
        try streamTensors { chunk in try writer.write(chunk.bytes) }
        try writer.finish()
    }

    /// Writes every tensor in the order `tensors` lists them (needs random access).
    private func writeTensorsInListedOrder(_ writer: CheckpointWriter) throws {
        for index in tensors.indices { try writer.write(bytes(of: index)) }
        try writer.finish()
    }
}
