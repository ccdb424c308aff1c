import Kernels

/// The GPTQ checkpoint convention (AutoGPTQ's "gptq" format) for one linear layer with `inputs` input
/// and `outputs` output features, `bits`-bit codes and groups of `groupSize` inputs:
/// - `qweight` I32 [inputs * bits / 32, outputs]: for each output column, the codes of all inputs as one
///   little-endian bit stream (input k at stream bits k*bits...), cut into 32-bit words; 3-bit codes
///   straddle words.
/// - `qzeros` I32 [groups, outputs * bits / 32]: each group's zero points MINUS ONE (the format's
///   historical offset, undone by every reader), packed the same way along the outputs.
/// - `scales` F16 [groups, outputs]; `g_idx` I32 [inputs] = the group of each input.
/// value = scale * (code - zero).
public enum GPTQPacking {
    /// Packs `count` codes of `bits` bits each, read through `code(k)`, as a stream of 32-bit words.
    static func packStream(count: Int, bits: Int, _ code: (Int) -> Int) -> [UInt32] {
        var words = [UInt32](repeating: 0, count: (count * bits + 31) / 32)
        for k in 0..<count {
            let value = UInt64(code(k) & ((1 << bits) - 1)) << UInt64((k * bits) % 32)
            let word = (k * bits) / 32
            words[word] |= UInt32(truncatingIfNeeded: value)
            if value >> 32 != 0 { words[word + 1] |= UInt32(truncatingIfNeeded: value >> 32) }
        }
        return words
    }

    /// Code k of a word stream (`word(i)` reads word i).
    @inline(__always) static func unpack(_ k: Int, bits: Int, _ word: (Int) -> UInt32) -> Int {
        let bit = k * bits, index = bit / 32, shift = bit % 32
        var value = UInt64(word(index)) >> UInt64(shift)
        if shift + bits > 32 { value |= UInt64(word(index + 1)) << UInt64(32 - shift) }
        return Int(value & ((1 << UInt64(bits)) - 1))
    }

    /// The four tensors of a layer from codes [outputs x inputs] (row-major) and per (output, group)
    /// scales and zero points [outputs x groups].
    public static func tensors(prefix: String, codes: [UInt8], scales: [Float], zeros: [Int], outputs: Int, inputs: Int,
                               bits: Int, groupSize: Int) -> [EncodedTensor] {
        precondition(inputs % groupSize == 0 && (inputs * bits) % 32 == 0 && (outputs * bits) % 32 == 0, "layer does not fit the GPTQ packing")
        let groups = inputs / groupSize, wordsPerColumn = inputs * bits / 32, zeroWords = outputs * bits / 32
        var qweight = [UInt32](repeating: 0, count: wordsPerColumn * outputs)
        for o in 0..<outputs {
            let column = packStream(count: inputs, bits: bits) { Int(codes[o * inputs + $0]) }
            for (w, word) in column.enumerated() { qweight[w * outputs + o] = word }
        }
        var qzeros: [UInt32] = []
        var halfScales: [UInt16] = []
        for g in 0..<groups {
            qzeros += packStream(count: outputs, bits: bits) { zeros[$0 * groups + g] - 1 }
            halfScales += (0..<outputs).map { NarrowFloat.floatToHalf(scales[$0 * groups + g]) }
        }
        let gIndex = (0..<inputs).map { Int32($0 / groupSize) }
        return [
            EncodedTensor(name: prefix + ".qweight", type: .i32, shape: [wordsPerColumn, outputs], bytes: littleEndianBytes(qweight)),
            EncodedTensor(name: prefix + ".qzeros", type: .i32, shape: [groups, zeroWords], bytes: littleEndianBytes(qzeros)),
            EncodedTensor(name: prefix + ".scales", type: .f16, shape: [groups, outputs], bytes: littleEndianBytes(halfScales)),
            EncodedTensor(name: prefix + ".g_idx", type: .i32, shape: [inputs], bytes: littleEndianBytes(gIndex)),
        ]
    }

    private static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBufferPointer { buffer in
            var out = [UInt8](repeating: 0, count: buffer.count * MemoryLayout<T>.size)
            out.withUnsafeMutableBytes { raw in for (i, v) in buffer.enumerated() { raw.storeBytes(of: v.littleEndian, toByteOffset: i * MemoryLayout<T>.size, as: T.self) } }
            return out
        }
    }
}

extension Checkpoint {
    /// Whether the layer `prefix` (a weight name without ".weight") is stored in the GPTQ convention.
    public func hasGPTQLayer(_ prefix: String) -> Bool { index(of: prefix + ".qweight") != nil }

    /// The weight [outputs x inputs] of a GPTQ layer, dequantized; the shapes of its four tensors are
    /// checked against each other and `bits` is read from them.
    public func gptqWeight(_ prefix: String) throws -> (values: [Float], outputs: Int, inputs: Int) {
        func tensor(_ suffix: String, _ type: TensorType) throws -> (info: TensorInfo, bytes: UnsafeRawBufferPointer) {
            guard let i = index(of: prefix + suffix) else { throw CheckpointError(file: name, "GPTQ layer \(prefix) has no \(suffix.dropFirst())") }
            guard tensors[i].type == type, tensors[i].shape.count == (suffix == ".g_idx" ? 1 : 2) else {
                throw CheckpointError(file: name, "tensor '\(prefix + suffix)' is \(tensors[i].type) \(tensors[i].shape), not a GPTQ \(suffix.dropFirst())")
            }
            return (tensors[i], try bytes(of: i))
        }
        let (qweight, qweightBytes) = try tensor(".qweight", .i32)
        let (qzeros, qzeroBytes) = try tensor(".qzeros", .i32)
        let (scales, scaleBytes) = try tensor(".scales", .f16)
        let (gIndex, gIndexBytes) = try tensor(".g_idx", .i32)
        let inputs = gIndex.shape[0], outputs = qweight.shape[1], groups = scales.shape[0]
        let bits = inputs > 0 ? qweight.shape[0] * 32 / inputs : 0
        guard [2, 3, 4, 8].contains(bits), qweight.shape[0] * 32 == inputs * bits, scales.shape[1] == outputs, groups > 0,
              qzeros.shape == [groups, outputs * bits / 32] else {
            throw CheckpointError(file: name, "GPTQ layer \(prefix): shapes qweight \(qweight.shape), qzeros \(qzeros.shape), scales \(scales.shape), g_idx \(gIndex.shape) disagree")
        }
        let word = { (raw: UnsafeRawBufferPointer, i: Int) in UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        var values = [Float](repeating: 0, count: outputs * inputs)
        for k in 0..<inputs {
            let g = Int(Int32(bitPattern: word(gIndexBytes, k)))
            guard (0..<groups).contains(g) else { throw CheckpointError(file: name, "GPTQ layer \(prefix): g_idx[\(k)] = \(g) outside 0..<\(groups)") }
            for o in 0..<outputs {
                let code = GPTQPacking.unpack(k, bits: bits) { word(qweightBytes, $0 * outputs + o) }
                let zero = (GPTQPacking.unpack(o, bits: bits) { word(qzeroBytes, g * qzeros.shape[1] + $0) } + 1) & ((1 << bits) - 1)
                let scale = NarrowFloat.halfToFloat(scaleBytes.loadUnaligned(fromByteOffset: 2 * (g * outputs + o), as: UInt16.self))
                values[o * inputs + k] = Float(code - zero) * scale
            }
        }
        return (values, outputs, inputs)
    }

    /// The weight `name` as Float: the tensor itself, or, for "X.weight" stored as a GPTQ layer X, its
    /// dequantized matrix; nil when neither exists.
    public func floats(named name: String) throws -> [Float]? {
        if let i = index(of: name) { return try floats(of: i) }
        guard name.hasSuffix(".weight") else { return nil }
        let prefix = String(name.dropLast(".weight".count))
        return hasGPTQLayer(prefix) ? try gptqWeight(prefix).values : nil
    }
}
