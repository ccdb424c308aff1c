/// A tensor held in memory as Float, with its checkpoint name and shape: what trainers and tests
/// produce and write out.
public struct FloatTensor: Sendable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "tensor '\(name)': \(values.count) values for shape \(shape)")
        self.name = name
        self.shape = shape
        self.values = values
    }
}

extension FloatTensor {
    /// Writes `tensors` in order as safetensors with every tensor in `dtype` (F32, BF16 or F16, rounded
    /// to nearest even), then `metadata` as `__metadata__`.
    public static func writeSafetensors(_ tensors: [FloatTensor], dtype: TensorType = .f32, metadata: [(key: String, value: String)]?,
                                        to sink: ByteSink, name: String) throws {
        guard [.f32, .bf16, .f16].contains(dtype) else { throw CheckpointError(file: name, "tensor dtype must be F32, BF16 or F16") }
        let header = try SafetensorsHeader.contiguous(tensors.map { ($0.name, dtype, $0.shape) }, metadata: metadata)
        let writer = try CheckpointWriter(safetensors: header, to: sink, name: name)
        try write(tensors, dtype: dtype, to: writer)
    }

    /// Writes `tensors` as GGUF (F32, BF16 or F16) with `metadata`.
    public static func writeGGUF(_ tensors: [FloatTensor], dtype: TensorType = .f32, metadata: [(key: String, value: GGUFValue)],
                                 to sink: ByteSink, name: String) throws {
        guard [.f32, .bf16, .f16].contains(dtype) else { throw CheckpointError(file: name, "tensor dtype must be F32, BF16 or F16") }
        let header = try GGUFHeader.layout(metadata: metadata, tensors: tensors.map { ($0.name, dtype, $0.shape) })
        let writer = try CheckpointWriter(gguf: header, to: sink, name: name)
        try write(tensors, dtype: dtype, to: writer)
    }

    private static func write(_ tensors: [FloatTensor], dtype: TensorType, to writer: CheckpointWriter) throws {
        var encoded: [UInt8] = []
        for tensor in tensors {
            let count = dtype.byteCount(elements: tensor.values.count)!
            if encoded.count < count { encoded = [UInt8](repeating: 0, count: count) }
            try encoded.withUnsafeMutableBytes { raw in
                let out = UnsafeMutableRawBufferPointer(rebasing: raw[0..<count])
                try tensor.values.withUnsafeBufferPointer { try ElementCodec.encode($0, as: dtype, into: out) }
                try writer.write(UnsafeRawBufferPointer(out))
            }
        }
        try writer.finish()
    }
}
