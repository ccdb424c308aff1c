extension GGUFHeader {
    /// A header for new tensors laid out one after the other, each padded to `alignment`, as llama.cpp and
    /// gguf-py write them. `general.alignment` is taken from `metadata` when present.
    public static func layout(metadata: [(key: String, value: GGUFValue)],
                              tensors: [(name: String, type: TensorType, shape: [Int])]) throws -> GGUFHeader {
        var alignment = 32
        if case .uint32(let a)? = metadata.first(where: { $0.key == "general.alignment" })?.value {
            guard a > 0, a & (a - 1) == 0 else { throw FormatError("general.alignment \(a) is not a power of two") }
            alignment = Int(a)
        }
        var infos: [TensorInfo] = []
        var offset = 0
        for tensor in tensors {
            guard tensor.type.ggmlType != nil else { throw FormatError("tensor '\(tensor.name)': GGUF cannot store \(tensor.type)") }
            guard tensor.name.utf8.count <= GGUFParser.maxNameLength else {
                throw FormatError("tensor '\(tensor.name)': name longer than \(GGUFParser.maxNameLength) bytes")
            }
            guard (1...GGUFParser.maxDimensions).contains(tensor.shape.count) || tensor.shape.isEmpty else {
                throw FormatError("tensor '\(tensor.name)': GGUF allows at most 4 dimensions")
            }
            guard let count = checkedElementCount(tensor.shape), (tensor.shape.last ?? 1) % tensor.type.blockElements == 0,
                  let bytes = tensor.type.byteCount(elements: count) else {
                throw FormatError("tensor '\(tensor.name)': shape \(tensor.shape) does not fit \(tensor.type)")
            }
            infos.append(TensorInfo(name: tensor.name, type: tensor.type, shape: tensor.shape, dataOffset: offset, byteCount: bytes))
            offset = alignUp(offset + bytes, alignment)
        }
        var header = GGUFHeader(version: 3, metadata: metadata, tensors: infos, alignment: alignment,
                                dataSectionOffset: 0, padsLastTensor: true)
        header.dataSectionOffset = alignUp(header.serializedWithoutPadding().count, alignment)
        return header
    }

    /// The header bytes as they go on disk, padded with zeros up to the data section.
    public func serialized() -> [UInt8] {
        var out = serializedWithoutPadding()
        if !tensors.isEmpty || padsLastTensor {
            out.append(contentsOf: repeatElement(0, count: alignUp(out.count, alignment) - out.count))
        }
        return out
    }

    private func serializedWithoutPadding() -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: GGUFParser.magic)
        append(version, to: &out)
        append(UInt64(tensors.count), to: &out)
        append(UInt64(metadata.count), to: &out)
        for (key, value) in metadata {
            appendString(Array(key.utf8), to: &out)
            append(value.type.rawValue, to: &out)
            appendValue(value, to: &out)
        }
        for tensor in tensors {
            appendString(Array(tensor.name.utf8), to: &out)
            append(UInt32(tensor.shape.count), to: &out)
            for dimension in tensor.shape.reversed() { append(UInt64(dimension), to: &out) }
            append(tensor.type.ggmlType ?? 0, to: &out)
            append(UInt64(tensor.dataOffset), to: &out)
        }
        return out
    }

    private func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private func appendString(_ bytes: [UInt8], to out: inout [UInt8]) {
        append(UInt64(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    private func appendValue(_ value: GGUFValue, to out: inout [UInt8]) {
        switch value {
        case .uint8(let v): append(v, to: &out)
        case .int8(let v): append(v, to: &out)
        case .uint16(let v): append(v, to: &out)
        case .int16(let v): append(v, to: &out)
        case .uint32(let v): append(v, to: &out)
        case .int32(let v): append(v, to: &out)
        case .float32(let bits): append(bits, to: &out)
        case .bool(let flag): out.append(flag ? 1 : 0)
        case .string(let bytes): appendString(bytes, to: &out)
        case .array(let elementType, let elements):
            append(elementType.rawValue, to: &out)
            append(UInt64(elements.count), to: &out)
            for element in elements { appendValue(element, to: &out) }
        case .uint64(let v): append(v, to: &out)
        case .int64(let v): append(v, to: &out)
        case .float64(let bits): append(bits, to: &out)
        }
    }
}
