/// A GGUF metadata value, with its exact wire type, so that a file read and written again is identical.
public indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    /// Kept as bits so that NaN payloads and -0 survive and compare exactly.
    case float32(bits: UInt32)
    case bool(Bool)
    /// Raw bytes (GGUF strings are meant to be UTF-8; the bytes are kept as they are).
    case string([UInt8])
    case array(elementType: GGUFValueType, [GGUFValue])
    case uint64(UInt64), int64(Int64)
    case float64(bits: UInt64)

    /// The wire type.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    /// A string value from text.
    public static func text(_ string: String) -> GGUFValue { .string(Array(string.utf8)) }

    /// The value as text, if it is a string of valid UTF-8.
    public var stringValue: String? {
        guard case .string(let bytes) = self else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The value as an integer, if it is one of the integer types (and fits).
    public var integerValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// The value as a Double, if it is numeric.
    public var doubleValue: Double? {
        switch self {
        case .float32(let bits): return Double(Float(bitPattern: bits))
        case .float64(let bits): return Double(bitPattern: bits)
        default: return integerValue.map(Double.init)
        }
    }

    /// A short human-readable rendering: arrays show their type, length and first elements.
    public var summary: String {
        switch self {
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .bool(let flag): return flag ? "true" : "false"
        case .float32(let bits): return "\(Float(bitPattern: bits))"
        case .float64(let bits): return "\(Double(bitPattern: bits))"
        case .array(let elementType, let elements):
            let head = elements.prefix(4).map { element -> String in
                if case .string = element { return "\"" + element.summary + "\"" }
                return element.summary
            }
            return "[\(elementType) x \(elements.count)] " + head.joined(separator: ", ") + (elements.count > 4 ? ", ..." : "")
        default: return integerValue.map(String.init) ?? "?"
        }
    }
}

/// GGUF's value type codes.
public enum GGUFValueType: UInt32, Sendable, CustomStringConvertible {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// The size of a scalar of this type; nil for strings and arrays.
    public var scalarSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    public var description: String {
        switch self {
        case .uint8: return "u8"
        case .int8: return "i8"
        case .uint16: return "u16"
        case .int16: return "i16"
        case .uint32: return "u32"
        case .int32: return "i32"
        case .float32: return "f32"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        case .uint64: return "u64"
        case .int64: return "i64"
        case .float64: return "f64"
        }
    }
}

/// Everything of a GGUF file except the tensor data: enough to write the same file again.
public struct GGUFHeader: Sendable, Equatable {
    /// 2 or 3 (both have the same little-endian layout).
    public var version: UInt32
    /// Key-value pairs in file order.
    public var metadata: [(key: String, value: GGUFValue)]
    /// Tensors in file order; `shape` is row-major (ne reversed), `dataOffset` relative to the data section.
    public var tensors: [TensorInfo]
    /// `general.alignment`, or 32.
    public var alignment: Int
    /// Byte offset of the data section in the file.
    public var dataSectionOffset: Int
    /// Whether the file pads after the last tensor up to the alignment (gguf-py and llama.cpp do).
    public var padsLastTensor: Bool

    public static func == (a: GGUFHeader, b: GGUFHeader) -> Bool {
        a.version == b.version && a.tensors == b.tensors && a.alignment == b.alignment
            && a.dataSectionOffset == b.dataSectionOffset && a.padsLastTensor == b.padsLastTensor
            && a.metadata.count == b.metadata.count
            && zip(a.metadata, b.metadata).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// The value of a metadata key, or nil.
    public subscript(key: String) -> GGUFValue? { metadata.first { $0.key == key }?.value }

    /// Bytes from the start of the data section to the end of the file.
    public var dataSectionLength: Int {
        guard let last = tensors.max(by: { $0.dataOffset < $1.dataOffset }) else { return 0 }
        let end = last.dataOffset + last.byteCount
        return padsLastTensor ? alignUp(end, alignment) : end
    }
}

/// `value` rounded up to a multiple of `alignment` (a power of two).
func alignUp(_ value: Int, _ alignment: Int) -> Int {
    (value + alignment - 1) & ~(alignment - 1)
}
