/// Reads and validates a GGUF header (v2 and v3, little-endian) the way llama.cpp validates it.
enum GGUFParser {
    static let magic: [UInt8] = Array("GGUF".utf8)
    /// llama.cpp's limits.
    static let maxStringLength = 1 << 30
    static let maxNameLength = 63
    static let maxDimensions = 4
    static let maxArrayNesting = 8

    /// Parses everything up to the data section. `fileSize` is known for files and checked against every
    /// size; for pipes it is nil and `padsLastTensor` is settled by whoever reads the data.
    static func parse<C: HeaderCursor>(_ cursor: inout C, fileSize: Int?) throws -> GGUFHeader {
        let head = try cursor.readBytes(4, what: "magic")
        guard head == magic else { throw FormatError("not a GGUF file (bad magic)") }
        let version: UInt32 = try cursor.readInteger(what: "version")
        if version & 0xFFFF == 0 && (1...3).contains(version >> 24) {
            throw FormatError("big-endian GGUF (version \(version.byteSwapped)) is not supported")
        }
        guard version == 2 || version == 3 else { throw FormatError("unsupported GGUF version \(version) (only 2 and 3)") }
        let tensorCount: UInt64 = try cursor.readInteger(what: "tensor count")
        let keyCount: UInt64 = try cursor.readInteger(what: "metadata count")
        // Each key-value pair takes at least 13 bytes, each tensor info at least 24.
        if let remaining = cursor.remaining {
            guard keyCount <= UInt64(remaining / 13) else { throw FormatError("metadata count \(keyCount) cannot fit in the file") }
            guard tensorCount <= UInt64(remaining / 24) else { throw FormatError("tensor count \(tensorCount) cannot fit in the file") }
        } else {
            guard keyCount < 1 << 32, tensorCount < 1 << 32 else { throw FormatError("implausible counts: \(keyCount) keys, \(tensorCount) tensors") }
        }

        var metadata: [(key: String, value: GGUFValue)] = []
        var keys = Set<String>()
        for index in 0..<Int(keyCount) {
            let keyBytes = try readString(&cursor, what: "key \(index)")
            guard let key = String(validating: keyBytes, as: UTF8.self) else { throw FormatError("metadata key \(index) is not valid UTF-8") }
            guard !key.isEmpty else { throw FormatError("metadata key \(index) is empty") }
            guard keys.insert(key).inserted else { throw FormatError("duplicate metadata key '\(key)'") }
            let rawType: UInt32 = try cursor.readInteger(what: "type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else { throw FormatError("metadata '\(key)' has invalid value type \(rawType)") }
            metadata.append((key, try readValue(&cursor, type: type, key: key, depth: 0)))
        }

        var alignment = 32
        if let value = metadata.first(where: { $0.key == "general.alignment" })?.value {
            guard case .uint32(let a) = value else { throw FormatError("general.alignment is \(value.type), not u32") }
            guard a > 0, a & (a - 1) == 0 else { throw FormatError("general.alignment \(a) is not a power of two") }
            alignment = Int(a)
        }

        var tensors: [TensorInfo] = []
        var names = Set<String>()
        var expectedOffset = 0
        for index in 0..<Int(tensorCount) {
            tensors.append(try readTensorInfo(&cursor, index: index, alignment: alignment, expectedOffset: &expectedOffset, names: &names))
        }

        let dataSectionOffset = alignUp(cursor.position, alignment)
        var padsLastTensor = true
        if let fileSize {
            if let last = tensors.last {
                let (needed, overflow) = dataSectionOffset.addingReportingOverflow(last.dataOffset + last.byteCount)
                guard !overflow, needed <= fileSize else {
                    throw FormatError("tensor data needs \(needed) bytes but the file has \(fileSize) (truncated?)")
                }
                padsLastTensor = fileSize >= alignUp(needed, alignment)
            } else {
                padsLastTensor = fileSize >= dataSectionOffset
            }
        }
        return GGUFHeader(version: version, metadata: metadata, tensors: tensors, alignment: alignment,
                          dataSectionOffset: dataSectionOffset, padsLastTensor: padsLastTensor)
    }

    private static func readString<C: HeaderCursor>(_ cursor: inout C, what: @autoclosure () -> String) throws -> [UInt8] {
        let length: UInt64 = try cursor.readInteger(what: "length of \(what())")
        guard length <= UInt64(maxStringLength) else { throw FormatError("\(what()) claims \(length) bytes (limit 1 GiB)") }
        return try cursor.readBytes(Int(length), what: what())
    }

    private static func readValue<C: HeaderCursor>(_ cursor: inout C, type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try cursor.readInteger(what: key))
        case .int8: return .int8(try cursor.readInteger(what: key))
        case .uint16: return .uint16(try cursor.readInteger(what: key))
        case .int16: return .int16(try cursor.readInteger(what: key))
        case .uint32: return .uint32(try cursor.readInteger(what: key))
        case .int32: return .int32(try cursor.readInteger(what: key))
        case .float32: return .float32(bits: try cursor.readInteger(what: key))
        case .uint64: return .uint64(try cursor.readInteger(what: key))
        case .int64: return .int64(try cursor.readInteger(what: key))
        case .float64: return .float64(bits: try cursor.readInteger(what: key))
        case .bool:
            let byte: UInt8 = try cursor.readInteger(what: key)
            guard byte <= 1 else { throw FormatError("metadata '\(key)': boolean byte \(byte) is neither 0 nor 1") }
            return .bool(byte == 1)
        case .string: return .string(try readString(&cursor, what: "value of '\(key)'"))
        case .array:
            guard depth < maxArrayNesting else { throw FormatError("metadata '\(key)': arrays nested deeper than \(maxArrayNesting)") }
            let rawType: UInt32 = try cursor.readInteger(what: key)
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw FormatError("metadata '\(key)': invalid array element type \(rawType)")
            }
            let count: UInt64 = try cursor.readInteger(what: key)
            let minimumElementSize = UInt64(elementType.scalarSize ?? (elementType == .string ? 8 : 12))
            if let remaining = cursor.remaining {
                guard count <= UInt64(remaining) / minimumElementSize else {
                    throw FormatError("metadata '\(key)': array of \(count) \(elementType) values cannot fit in the file")
                }
            } else {
                guard count < 1 << 40 else { throw FormatError("metadata '\(key)': implausible array length \(count)") }
            }
            var elements: [GGUFValue] = []
            for _ in 0..<Int(count) {
                elements.append(try readValue(&cursor, type: elementType, key: key, depth: depth + 1))
            }
            return .array(elementType: elementType, elements)
        }
    }

    private static func readTensorInfo<C: HeaderCursor>(_ cursor: inout C, index: Int, alignment: Int,
                                                       expectedOffset: inout Int, names: inout Set<String>) throws -> TensorInfo {
        let nameBytes = try readString(&cursor, what: "name of tensor \(index)")
        guard let name = String(validating: nameBytes, as: UTF8.self) else { throw FormatError("name of tensor \(index) is not valid UTF-8") }
        guard nameBytes.count <= maxNameLength else { throw FormatError("tensor '\(name)': name longer than \(maxNameLength) bytes") }
        guard names.insert(name).inserted else { throw FormatError("duplicate tensor name '\(name)'") }
        let dimensionCount: UInt32 = try cursor.readInteger(what: "tensor '\(name)'")
        guard dimensionCount <= UInt32(maxDimensions) else { throw FormatError("tensor '\(name)': \(dimensionCount) dimensions (at most 4)") }
        var ne: [Int] = []
        for _ in 0..<Int(dimensionCount) {
            let raw: UInt64 = try cursor.readInteger(what: "tensor '\(name)'")
            guard raw <= UInt64(Int64.max) else { throw FormatError("tensor '\(name)': negative dimension") }
            ne.append(Int(raw))
        }
        let rawType: UInt32 = try cursor.readInteger(what: "tensor '\(name)'")
        guard let type = TensorType(ggmlType: rawType) else { throw FormatError("tensor '\(name)': unknown ggml type \(rawType)") }
        let offset: UInt64 = try cursor.readInteger(what: "tensor '\(name)'")
        guard let count = checkedElementCount(ne) else { throw FormatError("tensor '\(name)': element count overflows") }
        guard (ne.first ?? 1) % type.blockElements == 0, let bytes = type.byteCount(elements: count) else {
            throw FormatError("tensor '\(name)': row length \(ne.first ?? 1) is not a multiple of \(type)'s block of \(type.blockElements)")
        }
        guard offset == UInt64(expectedOffset) else {
            throw FormatError("tensor '\(name)': data offset \(offset), expected \(expectedOffset)")
        }
        let (next, overflow) = expectedOffset.addingReportingOverflow(bytes)
        guard !overflow, next <= Int.max - alignment else { throw FormatError("tensor '\(name)': data size overflows") }
        expectedOffset = alignUp(next, alignment)
        return TensorInfo(name: name, type: type, shape: ne.reversed(), dataOffset: Int(offset), byteCount: bytes)
    }
}
