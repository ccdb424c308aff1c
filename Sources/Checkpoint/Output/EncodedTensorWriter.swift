/// A tensor already in its stored encoding (quantized blocks, packed integers...), with its name and
/// row-major shape: what quantizers produce and write out.
public struct EncodedTensor: Sendable {
    public var name: String
    public var type: TensorType
    public var shape: [Int]
    public var bytes: [UInt8]

    public init(name: String, type: TensorType, shape: [Int], bytes: [UInt8]) {
        precondition(type.byteCount(elements: shape.reduce(1, *)) == bytes.count, "tensor '\(name)': \(bytes.count) bytes for \(type) \(shape)")
        self.name = name
        self.type = type
        self.shape = shape
        self.bytes = bytes
    }
}

extension EncodedTensor {
    /// Writes `tensors` in order as GGUF with `metadata`.
    public static func writeGGUF(_ tensors: [EncodedTensor], metadata: [(key: String, value: GGUFValue)], to sink: ByteSink, name: String) throws {
        let header = try GGUFHeader.layout(metadata: metadata, tensors: tensors.map { ($0.name, $0.type, $0.shape) })
        try write(tensors, to: CheckpointWriter(gguf: header, to: sink, name: name))
    }

    /// Writes `tensors` in order as safetensors with `metadata` as `__metadata__`.
    public static func writeSafetensors(_ tensors: [EncodedTensor], metadata: [(key: String, value: String)]?, to sink: ByteSink, name: String) throws {
        let header = try SafetensorsHeader.contiguous(tensors.map { ($0.name, $0.type, $0.shape) }, metadata: metadata)
        try write(tensors, to: CheckpointWriter(safetensors: header, to: sink, name: name))
    }

    private static func write(_ tensors: [EncodedTensor], to writer: CheckpointWriter) throws {
        for tensor in tensors { try tensor.bytes.withUnsafeBytes { try writer.write($0) } }
        try writer.finish()
    }
}
