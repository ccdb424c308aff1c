/// The header of a safetensors file: its JSON, decoded and validated the way the reference reader
/// validates it, with tensors and metadata kept in file order so that writing it back is byte-exact.
public struct SafetensorsHeader: Sendable, Equatable {
    /// The largest header the reference reader accepts.
    public static let maxHeaderLength = 100_000_000

    /// Tensors in the order the JSON lists them; `dataOffset` is `data_offsets[0]`.
    public var tensors: [TensorInfo]
    /// `__metadata__`, in file order; nil when the file has none.
    public var metadata: [(key: String, value: String)]?
    /// The size of the data buffer the offsets describe (the largest end offset).
    public var dataLength: Int

    public init(tensors: [TensorInfo], metadata: [(key: String, value: String)]?) {
        self.tensors = tensors
        self.metadata = metadata
        self.dataLength = tensors.map { $0.dataOffset + $0.byteCount }.max() ?? 0
    }

    public static func == (a: SafetensorsHeader, b: SafetensorsHeader) -> Bool {
        a.tensors == b.tensors && a.dataLength == b.dataLength
            && a.metadata?.map { [$0.key, $0.value] } == b.metadata?.map { [$0.key, $0.value] }
    }

    /// Lays tensors out contiguously in the given order and returns the header describing them.
    public static func contiguous(_ tensors: [(name: String, type: TensorType, shape: [Int])],
                                  metadata: [(key: String, value: String)]?) throws -> SafetensorsHeader {
        var infos: [TensorInfo] = []
        var offset = 0
        for tensor in tensors {
            guard tensor.type.safetensorsName != nil else {
                throw FormatError("tensor '\(tensor.name)': safetensors cannot store \(tensor.type)")
            }
            guard let count = checkedElementCount(tensor.shape), let bytes = tensor.type.byteCount(elements: count) else {
                throw FormatError("tensor '\(tensor.name)': invalid shape \(tensor.shape)")
            }
            infos.append(TensorInfo(name: tensor.name, type: tensor.type, shape: tensor.shape, dataOffset: offset, byteCount: bytes))
            offset += bytes
        }
        return SafetensorsHeader(tensors: infos, metadata: metadata)
    }

    /// Decodes and validates the JSON header.
    public static func parse(json: UnsafeRawBufferPointer) throws -> SafetensorsHeader {
        let root: JSONValue
        do {
            root = try JSONParser.parse(json)
        } catch {
            throw FormatError("invalid JSON in header at byte \(8 + error.offset): \(error.reason)")
        }
        guard case .object(let members) = root else { throw FormatError("header is a JSON \(root.kindName), not an object") }
        var metadata: [(key: String, value: String)]?
        var tensors: [TensorInfo] = []
        var seen = Set<String>()
        for (name, value) in members {
            guard seen.insert(name).inserted else { throw FormatError("duplicate entry '\(name)' in header") }
            if name == "__metadata__" {
                metadata = try parseMetadata(value)
            } else {
                tensors.append(try parseTensor(name, value))
            }
        }
        try checkContiguous(tensors)
        return SafetensorsHeader(tensors: tensors, metadata: metadata)
    }

    private static func parseMetadata(_ value: JSONValue) throws -> [(key: String, value: String)] {
        guard case .object(let entries) = value else { throw FormatError("__metadata__ is a \(value.kindName), not an object") }
        return try entries.map { entry in
            guard case .string(let text) = entry.value else {
                throw FormatError("__metadata__ value of '\(entry.key)' is a \(entry.value.kindName), not a string")
            }
            return (entry.key, text)
        }
    }

    private static func parseTensor(_ name: String, _ value: JSONValue) throws -> TensorInfo {
        guard case .object = value else { throw FormatError("tensor '\(name)': entry is a \(value.kindName), not an object") }
        guard let dtypeValue = value["dtype"] else { throw FormatError("tensor '\(name)': missing field 'dtype'") }
        guard let shapeValue = value["shape"] else { throw FormatError("tensor '\(name)': missing field 'shape'") }
        guard let offsetsValue = value["data_offsets"] else { throw FormatError("tensor '\(name)': missing field 'data_offsets'") }
        guard case .string(let dtypeName) = dtypeValue else { throw FormatError("tensor '\(name)': dtype is not a string") }
        guard let type = TensorType(safetensorsName: dtypeName) else { throw FormatError("tensor '\(name)': unknown dtype '\(dtypeName)'") }
        guard case .array(let dims) = shapeValue else { throw FormatError("tensor '\(name)': shape is not an array") }
        let shape = try dims.map { dim in
            guard let size = dim.nonNegativeInteger else {
                throw FormatError("tensor '\(name)': shape entry \(JSONWriter.string(dim)) is not a non-negative integer")
            }
            return size
        }
        guard case .array(let offsets) = offsetsValue, offsets.count == 2,
              let begin = offsets[0].nonNegativeInteger, let end = offsets[1].nonNegativeInteger else {
            throw FormatError("tensor '\(name)': data_offsets must be two non-negative integers")
        }
        guard end >= begin else { throw FormatError("tensor '\(name)': data_offsets end \(end) is before begin \(begin)") }
        guard let count = checkedElementCount(shape), let bytes = type.byteCount(elements: count) else {
            throw FormatError("tensor '\(name)': shape \(shape) overflows")
        }
        guard end - begin == bytes else {
            throw FormatError("tensor '\(name)': data_offsets span \(end - begin) bytes, but \(dtypeName) \(shape) needs \(bytes)")
        }
        return TensorInfo(name: name, type: type, shape: shape, dataOffset: begin, byteCount: bytes)
    }

    /// The reference reader requires the tensors, sorted by offset, to tile the buffer from 0 without gaps.
    private static func checkContiguous(_ tensors: [TensorInfo]) throws {
        var end = 0
        for tensor in tensors.sorted(by: { ($0.dataOffset, $0.byteCount) < ($1.dataOffset, $1.byteCount) }) {
            if tensor.dataOffset > end { throw FormatError("tensor '\(tensor.name)': gap in data offsets before \(tensor.dataOffset)") }
            if tensor.dataOffset < end { throw FormatError("tensor '\(tensor.name)': data offsets overlap at \(tensor.dataOffset)") }
            end += tensor.byteCount
        }
    }

    /// The tensors in data order (the order a stream delivers them).
    public var tensorsInDataOrder: [TensorInfo] {
        tensors.sorted { ($0.dataOffset, $0.byteCount) < ($1.dataOffset, $1.byteCount) }
    }

    /// The header as it goes on disk: u64 length, compact JSON, spaces up to a multiple of 8 (as the
    /// Python package writes it).
    public func serialized() -> [UInt8] {
        var members: [(key: String, value: JSONValue)] = []
        if let metadata {
            members.append(("__metadata__", .object(metadata.map { ($0.key, JSONValue.string($0.value)) })))
        }
        for tensor in tensors {
            members.append((tensor.name, .object([
                ("dtype", .string(tensor.type.safetensorsName ?? "")),
                ("shape", .array(tensor.shape.map { .number(String($0)) })),
                ("data_offsets", .array([.number(String(tensor.dataOffset)), .number(String(tensor.dataOffset + tensor.byteCount))])),
            ])))
        }
        var json = Array(JSONWriter.string(.object(members)).utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8](repeating: 0, count: 8)
        out.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(json.count).littleEndian, as: UInt64.self) }
        return out + json
    }
}
