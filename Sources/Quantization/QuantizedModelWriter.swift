import Checkpoint
import Kernels
import LM

/// The files a quantized model is written as.
public enum QuantizedOutputFormat: String, Sendable, CaseIterable {
    /// GGUF with llama.cpp's names and block types, the source's metadata (tokenizer...) kept.
    case gguf
    /// safetensors in the GPTQ checkpoint convention (qweight, qzeros, scales, g_idx).
    case gptq
    /// safetensors with the dequantized ("fake-quant") weights in F32, for inspection and `mstat diff`.
    case safetensors
}

public enum QuantizedModelWriter {
    /// llama.cpp's file type (llama_ftype) for a GGUF target, written as general.file_type.
    static func fileType(_ type: TensorType) -> UInt32 {
        switch type {
        case .q4_0: return 2
        case .q4_1: return 3
        case .q8_0: return 7
        case .q5_0: return 8
        case .q5_1: return 9
        case .q2K: return 10
        case .q3K: return 11
        case .q4K: return 14
        case .q6K: return 18
        case .iq4NL: return 25
        case .f16: return 1
        default: return 0
        }
    }

    /// GGUF: llama.cpp's tensor names, Q/K rows back in adjacent-pair order, the source's metadata
    /// with the file type updated.
    public static func writeGGUF(_ quantizer: ModelQuantizer, sourceMetadata: [(key: String, value: GGUFValue)], to sink: ByteSink, name: String) throws {
        guard case .gguf(let type) = quantizer.target else { throw CheckpointError(file: name, "GGUF output needs a GGUF block type, not \(quantizer.target)") }
        let c = quantizer.config, hf = LlamaTensorNames.huggingFace, gguf = LlamaTensorNames.gguf
        var renames = [hf.embedding: gguf.embedding, hf.outputNorm: gguf.outputNorm, hf.output: gguf.output]
        for layer in 0..<c.layers {
            for weight in LlamaTensorNames.LayerWeight.allCases { renames[hf.name(weight, layer: layer)] = gguf.name(weight, layer: layer) }
        }
        var tensors: [EncodedTensor] = []
        for (index, tensor) in quantizer.original.enumerated() {
            let isRoped = tensor.name.hasSuffix("q_proj.weight") || tensor.name.hasSuffix("k_proj.weight")
            let rowOrder = isRoped ? RopeLayout.adjacentRowSources(rows: tensor.shape[0], headDim: c.headDim) : nil
            let encoded: (TensorType, [UInt8])
            if let matrix = quantizer.quantized[index], let storedType = GGUFFormats.type(of: matrix.format) {
                encoded = (storedType, reorderRows(matrix.bytes, rowBytes: matrix.bytes.count / matrix.rows, order: rowOrder))
            } else {
                let keptType = quantizer.keptType(of: index)
                let bytes = try encodeFloats(tensor.values, as: keptType, name: name)
                encoded = (keptType, reorderRows(bytes, rowBytes: bytes.count / max(tensor.shape.first ?? 1, 1), order: tensor.shape.count == 2 ? rowOrder : nil))
            }
            tensors.append(EncodedTensor(name: renames[tensor.name] ?? tensor.name, type: encoded.0, shape: tensor.shape, bytes: encoded.1))
        }
        var metadata = sourceMetadata.filter { $0.key != "general.file_type" && $0.key != "general.quantization_version" }
        let at = metadata.firstIndex { $0.key.hasPrefix("tokenizer.") } ?? metadata.count
        metadata.insert(contentsOf: [("general.file_type", .uint32(fileType(type))), ("general.quantization_version", .uint32(2))], at: at)
        try EncodedTensor.writeGGUF(tensors, metadata: metadata, to: sink, name: name)
    }

    private static func reorderRows(_ bytes: [UInt8], rowBytes: Int, order: [Int]?) -> [UInt8] {
        guard let order else { return bytes }
        var out = bytes
        for (row, source) in order.enumerated() {
            out.replaceSubrange((row * rowBytes)..<((row + 1) * rowBytes), with: bytes[(source * rowBytes)..<((source + 1) * rowBytes)])
        }
        return out
    }

    private static func encodeFloats(_ values: [Float], as type: TensorType, name: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: type.byteCount(elements: values.count) ?? 0)
        do {
            try values.withUnsafeBufferPointer { v in try bytes.withUnsafeMutableBytes { try ElementCodec.encode(v, as: type, into: $0) } }
        } catch let error as FormatError { throw CheckpointError(file: name, error.message) }
        return bytes
    }

    /// GPTQ-convention safetensors: the blocks' linear layers packed, everything else F16, the
    /// config (with its quantization_config) and tokenizer in `__metadata__`.
    public static func writeGPTQ(_ quantizer: ModelQuantizer, tokenizer: Tokenizer, to sink: ByteSink, name: String) throws {
        guard case .groups(let bits, let groupSize) = quantizer.target else {
            throw CheckpointError(file: name, "GPTQ output needs a group target (w2g64...), not \(quantizer.target)")
        }
        var tensors: [EncodedTensor] = []
        for (index, tensor) in quantizer.original.enumerated() {
            guard let matrix = quantizer.quantized[index], let format = matrix.format as? GroupFormat else {
                tensors.append(EncodedTensor(name: tensor.name, type: .f16, shape: tensor.shape, bytes: try encodeFloats(tensor.values, as: .f16, name: name)))
                continue
            }
            let groups = matrix.blocksPerRow
            var codes = [UInt8](repeating: 0, count: matrix.rows * matrix.columns)
            var scales = [Float](repeating: 0, count: matrix.rows * groups), zeros = [Int](repeating: 0, count: matrix.rows * groups)
            matrix.bytes.withUnsafeBytes { raw in
                for r in 0..<matrix.rows {
                    for g in 0..<groups {
                        let block = raw.baseAddress! + (r * groups + g) * format.blockBytes
                        (scales[r * groups + g], zeros[r * groups + g]) = format.parameters(block)
                        for e in 0..<groupSize { codes[r * matrix.columns + g * groupSize + e] = UInt8(format.code(of: block, element: e)) }
                    }
                }
            }
            tensors += GPTQPacking.tensors(prefix: String(tensor.name.dropLast(".weight".count)), codes: codes, scales: scales, zeros: zeros,
                                           outputs: matrix.rows, inputs: matrix.columns, bits: bits, groupSize: groupSize)
        }
        let quantizationConfig: JSONValue = .object([
            ("quant_method", .string("gptq")), ("bits", .number(String(bits))), ("group_size", .number(String(groupSize))),
            ("desc_act", .bool(false)), ("sym", .bool(false)), ("static_groups", .bool(quantizer.gptq.actOrder)),
            ("damp_percent", .number("\(quantizer.gptq.damping)")), ("checkpoint_format", .string("gptq")),
        ])
        var metadata = ModelFiles.metadata(config: quantizer.config, tied: quantizer.tied, tokenizer: tokenizer,
                                           extraConfig: [("quantization_config", quantizationConfig)])
        metadata.append(("format", "pt"))
        try EncodedTensor.writeSafetensors(tensors, metadata: metadata, to: sink, name: name)
    }

    /// The dequantized weights in F32 under Hugging Face names, loadable by every tool.
    public static func writeDequantized(_ quantizer: ModelQuantizer, tokenizer: Tokenizer, to sink: ByteSink, name: String) throws {
        try FloatTensor.writeSafetensors(quantizer.evaluationTensors(), dtype: .f32,
                                         metadata: ModelFiles.metadata(config: quantizer.config, tied: quantizer.tied, tokenizer: tokenizer),
                                         to: sink, name: name)
    }
}
