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

/// Hands tensor `index`'s values to `consume`: how the streaming writers ask for one tensor at a time.
public typealias FloatTensorProvider = (_ index: Int, _ consume: (UnsafeBufferPointer<Float>) throws -> Void) throws -> Void

extension FloatTensor {
    /// Writes `tensors` in order as safetensors with every tensor in `dtype` (F32, BF16 or F16, rounded
    /// to nearest even), then `metadata` as `__metadata__`.
    public static func writeSafetensors(_ tensors: [FloatTensor], dtype: TensorType = .f32, metadata: [(key: String, value: String)]?,
                                        to sink: ByteSink, name: String) throws {
        try writeSafetensors(layout: tensors.map { ($0.name, $0.shape) }, dtype: dtype, metadata: metadata, to: sink, name: name) { i, consume in
            try tensors[i].values.withUnsafeBufferPointer { try consume($0) }
        }
    }

    /// Writes the tensors named and shaped by `layout` as safetensors, asking `values` for each one in turn,
    /// so that a caller holding its tensors compressed never needs them all expanded at once.
    public static func writeSafetensors(layout: [(name: String, shape: [Int])], dtype: TensorType = .f32, metadata: [(key: String, value: String)]?,
                                        to sink: ByteSink, name: String, values: FloatTensorProvider) throws {
        guard [.f32, .bf16, .f16].contains(dtype) else { throw CheckpointError(file: name, "tensor dtype must be F32, BF16 or F16") }
        let header = try SafetensorsHeader.contiguous(layout.map { ($0.name, dtype, $0.shape) }, metadata: metadata)
        let writer = try CheckpointWriter(safetensors: header, to: sink, name: name)
        try write(layout.map { $0.shape.reduce(1, *) }, dtype: dtype, to: writer, values: values)
    }

    /// Writes `tensors` as GGUF (F32, BF16 or F16) with `metadata`.
    public static func writeGGUF(_ tensors: [FloatTensor], dtype: TensorType = .f32, metadata: [(key: String, value: GGUFValue)],
                                 to sink: ByteSink, name: String) throws {
        guard [.f32, .bf16, .f16].contains(dtype) else { throw CheckpointError(file: name, "tensor dtype must be F32, BF16 or F16") }
        let header = try GGUFHeader.layout(metadata: metadata, tensors: tensors.map { ($0.name, dtype, $0.shape) })
        let writer = try CheckpointWriter(gguf: header, to: sink, name: name)
        try write(tensors.map(\.values.count), dtype: dtype, to: writer) { i, consume in
            try tensors[i].values.withUnsafeBufferPointer { try consume($0) }
        }
    }

    private static func write(_ counts: [Int], dtype: TensorType, to writer: CheckpointWriter, values: FloatTensorProvider) throws {
        var scratch: [UInt8] = []
        for (i, expected) in counts.enumerated() {
            try values(i) { tensor in
                precondition(tensor.count == expected, "tensor \(i): \(tensor.count) values for \(expected) declared")
                try writer.write(tensor, as: dtype, scratch: &scratch)
            }
        }
        try writer.finish()
    }
}

extension CheckpointWriter {
    /// Writes `values` encoded as `type` (a float or integer dtype), through `scratch`, which grows as
    /// needed and is reused between calls.
    func write(_ values: UnsafeBufferPointer<Float>, as type: TensorType, scratch: inout [UInt8]) throws {
        let count = type.byteCount(elements: values.count)!
        if scratch.count < count { scratch = [UInt8](repeating: 0, count: count) }
        try scratch.withUnsafeMutableBytes { raw in
            let out = UnsafeMutableRawBufferPointer(rebasing: raw[0..<count])
            try ElementCodec.encode(values, as: type, into: out)
            try write(UnsafeRawBufferPointer(out))
        }
    }
}
