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
    /// each tensor through a bounded buffer. 8- and 16-bit floats are counted in a histogram of their raw
    /// values, which gives every statistic exactly and costs a few instructions per value; wider types are
    /// decoded to Float.
    public static func collect(_ checkpoint: Checkpoint, chunkBytes: Int = 4 << 20) throws -> [TensorStatistics] {
        var results = checkpoint.tensors.map { tensor in
            TensorStatistics(exponents: tensor.type.exponentField.map { BitFieldHistogram(bits: $0.bits) },
                             byteCount: tensor.byteCount, type: tensor.type)
        }
        var decoder = ChunkDecoder()
        var rawValues = RawValueHistogram()
        var histogramTensor: Int?
        func finishHistogram() {
            guard let index = histogramTensor else { return }
            let type = checkpoint.tensors[index].type
            rawValues.drain { bits, count in
                results[index].values.add(decodeNarrow(bits, type), repeated: count)
                if let field = type.exponentField {
                    results[index].exponents?.add(count: count, field: Int(bits) >> field.shift & ((1 << field.bits) - 1))
                }
            }
            histogramTensor = nil
        }
        try checkpoint.streamTensors(chunkBytes: chunkBytes) { chunk in
            let tensor = checkpoint.tensors[chunk.tensorIndex]
            if histogramTensor != chunk.tensorIndex { finishHistogram() }
            switch tensor.type {
            case .otherGGML:
                return
            case .bf16, .f16, .f8e4m3, .f8e5m2:
                histogramTensor = chunk.tensorIndex
                rawValues.add(chunk.bytes, elementBytes: tensor.type.blockBytes)
                return
            default:
                break
            }
            try decoder.decode(chunk, of: checkpoint) { results[chunk.tensorIndex].values.add($0) }
            if let field = tensor.type.exponentField {
                results[chunk.tensorIndex].exponents?.add(chunk.bytes, elementBytes: tensor.type.blockBytes, shift: field.shift)
            }
        }
        finishHistogram()
        return results
    }

    private static func decodeNarrow(_ bits: UInt16, _ type: TensorType) -> Float {
        switch type {
        case .bf16: return NarrowFloat.bfloat16ToFloat(bits)
        case .f16: return NarrowFloat.halfToFloat(bits)
        case .f8e4m3: return Float8Format.e4m3fn.decode(UInt8(truncatingIfNeeded: bits))
        default: return Float8Format.e5m2.decode(UInt8(truncatingIfNeeded: bits))
        }
    }
}

/// Counts of every raw value of 8- or 16-bit elements, reused across tensors.
struct RawValueHistogram {
    /// Two interleaved tables of 65536 counters; UInt32 is enough per chunk and halves the cache footprint.
    private var tables = [UInt32](repeating: 0, count: 2 << 16)
    private var totals = [Int](repeating: 0, count: 1 << 16)

    mutating func add(_ bytes: UnsafeRawBufferPointer, elementBytes: Int) {
        let n = bytes.count / elementBytes
        tables.withUnsafeMutableBufferPointer { table in
            let base = table.baseAddress!
            if elementBytes == 1 {
                for i in 0..<n { base[Int(bytes[i])] &+= 1 }
                return
            }
            var i = 0
            while i + 2 <= n {
                base[Int(bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))] &+= 1
                base[65536 + Int(bytes.loadUnaligned(fromByteOffset: 2 * i + 2, as: UInt16.self))] &+= 1
                i += 2
            }
            if i < n { base[Int(bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))] &+= 1 }
        }
        // Fold into the wide totals after every chunk so the 32-bit counters never overflow.
        for value in 0..<(1 << 16) where tables[value] | tables[65536 + value] != 0 {
            totals[value] += Int(tables[value]) + Int(tables[65536 + value])
            tables[value] = 0
            tables[65536 + value] = 0
        }
    }

    /// Hands out every (raw value, count) with a non-zero count and resets.
    mutating func drain(_ body: (UInt16, Int) -> Void) {
        for value in 0..<(1 << 16) where totals[value] != 0 {
            body(UInt16(value), totals[value])
            totals[value] = 0
        }
    }
}
