/// Writing any checkpoint as dense safetensors: every float or block-quantised tensor converted to one
/// float dtype, integer tensors copied, metadata carried over as strings. This is how a llama.cpp model
/// becomes a checkpoint that PyTorch and every tool here can load.
extension Checkpoint {
    /// Writes the tensors, in data order, as safetensors with float tensors in `dtype` (F32, BF16 or F16).
    public func writeDenseSafetensors(dtype: TensorType, to sink: ByteSink, name outputName: String) throws {
        guard [.f32, .bf16, .f16].contains(dtype) else { throw CheckpointError(file: outputName, "dense output dtype must be F32, BF16 or F16") }
        let order = dataOrder
        let converted = order.map { index -> (String, TensorType, [Int]) in
            let tensor = tensors[index]
            let target = tensor.type.isFloat || tensor.type.isBlockQuantized ? dtype : tensor.type
            return (tensor.name, target, tensor.shape)
        }
        if let unsupported = order.first(where: { if case .otherGGML = tensors[$0].type { return true } else { return false } }) {
            throw CheckpointError(file: name, "tensor '\(tensors[unsupported].name)': decoding \(tensors[unsupported].type) is not supported")
        }
        let header = try SafetensorsHeader.contiguous(converted, metadata: metadata.map { ($0.key, Self.metadataText($0.value)) })
        let writer = try CheckpointWriter(safetensors: header, to: sink, name: outputName)
        var decoder = ChunkDecoder()
        var scratch: [UInt8] = []
        let targetOf = Dictionary(uniqueKeysWithValues: zip(order, converted.map(\.1)))
        try streamTensors(chunkBytes: 4 << 20) { chunk in
            let target = targetOf[chunk.tensorIndex]!
            if target == tensors[chunk.tensorIndex].type { return try writer.write(chunk.bytes) }
            try decoder.decode(chunk, of: self) { values in try writer.write(values, as: target, scratch: &scratch) }
        }
        try writer.finish()
    }

    /// Metadata values as safetensors strings: text as is, numbers in decimal, arrays as JSON.
    static func metadataText(_ value: GGUFValue) -> String {
        if let text = value.stringValue { return text }
        switch value {
        case .array: return JSONWriter.string(metadataJSON(value))
        default: return value.summary
        }
    }

    private static func metadataJSON(_ value: GGUFValue) -> JSONValue {
        switch value {
        case .string: return .string(value.stringValue ?? value.summary)
        case .bool(let flag): return .bool(flag)
        case .array(_, let elements): return .array(elements.map(metadataJSON))
        case .float32, .float64:
            let number = value.doubleValue ?? .nan
            return number.isFinite ? .number("\(number)") : .null
        default: return .number(value.summary)
        }
    }
}
