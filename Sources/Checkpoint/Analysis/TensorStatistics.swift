import Kernels

/// Per-tensor statistics of a checkpoint, computed in one streaming pass: value statistics of the decoded
/// floats, and for float types the order-0 entropy of the exponent field with the size an ideal exponent
/// coder would reach (exponent entropy-coded, sign and mantissa stored raw): the bound NeuZip aims at.
public struct TensorStatistics: Sendable {
    public var values = RunningStatistics()
    /// Exponent histogram (float types only).
    public var exponents: BitFieldHistogram?
    /// Stored bytes.
    public var byteCount: Int
    public var type: TensorType

    /// Exponent entropy in bits per element, or nil for non-float types.
    public var exponentEntropy: Double? { exponents?.entropy }

    /// Bytes with the exponent ideally coded per tensor and everything else raw; the stored size for
    /// non-float types.
    public var idealBytes: Double {
        guard let exponents, let field = type.exponentField else { return Double(byteCount) }
        let elementBits = Double(type.blockBytes * 8)
        let count = Double(exponents.total)
        return count * (elementBits - Double(field.bits) + exponents.entropy) / 8
    }

    /// Computes statistics for every tensor of `checkpoint` (indexed like `checkpoint.tensors`), streaming
    /// each tensor through a bounded buffer.
    public static func collect(_ checkpoint: Checkpoint, chunkBytes: Int = 4 << 20) throws -> [TensorStatistics] {
        var results = checkpoint.tensors.map { tensor in
            TensorStatistics(exponents: tensor.type.exponentField.map { BitFieldHistogram(bits: $0.bits) },
                             byteCount: tensor.byteCount, type: tensor.type)
        }
        var floats = [Float](repeating: 0, count: chunkBytes + 1024)
        try checkpoint.streamTensors(chunkBytes: chunkBytes) { chunk in
            let tensor = checkpoint.tensors[chunk.tensorIndex]
            let count = chunk.bytes.count / tensor.type.blockBytes * tensor.type.blockElements
            if floats.count < count { floats = [Float](repeating: 0, count: count) }
            if case .otherGGML = tensor.type { return }
            try floats.withUnsafeMutableBufferPointer { buffer in
                let slice = UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
                do { try ElementCodec.decode(tensor.type, chunk.bytes, into: slice) } catch let error as FormatError {
                    throw CheckpointError(file: checkpoint.name, "tensor '\(tensor.name)': \(error.message)")
                }
                results[chunk.tensorIndex].values.add(UnsafeBufferPointer(slice))
            }
            if let field = tensor.type.exponentField {
                results[chunk.tensorIndex].exponents?.add(chunk.bytes, elementBytes: tensor.type.blockBytes, shift: field.shift)
            }
        }
        return results
    }
}
