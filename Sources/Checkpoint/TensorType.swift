/// The element encoding of a tensor: a plain scalar type (every safetensors dtype) or one of ggml's block
/// types. Block types store `blockElements` values in `blockBytes` bytes; plain types have blocks of one.
public enum TensorType: Hashable, Sendable, CustomStringConvertible {
    case f64, f32, f16, bf16, f8e4m3, f8e5m2
    case i8, i16, i32, i64, u8, u16, u32, u64, bool
    case q4_0, q4_1, q5_0, q5_1, q8_0, q2K, q3K, q4K, q5K, q6K
    /// ggml's IQ4_NL: blocks of 32 four-bit indices into a fixed non-uniform table, one F16 scale.
    case iq4NL
    /// A ggml type we can list and copy but not decode (IQ*, TQ*, Q8_1, Q8_K, MXFP4, ...).
    case otherGGML(UInt32)

    /// Elements per block.
    public var blockElements: Int {
        switch self {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4NL: return 32
        case .q2K, .q3K, .q4K, .q5K, .q6K: return 256
        case .otherGGML(let id): return Self.otherGGMLSizes[id]?.elements ?? 1
        default: return 1
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .f8e4m3, .f8e5m2, .i8, .u8, .bool: return 1
        case .q4_0, .iq4NL: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q2K: return 84
        case .q3K: return 110
        case .q4K: return 144
        case .q5K: return 176
        case .q6K: return 210
        case .otherGGML(let id): return Self.otherGGMLSizes[id]?.bytes ?? 0
        }
    }

    /// True for the plain IEEE-style float types (F64, F32, F16, BF16, F8): the ones with an exponent field.
    public var isFloat: Bool {
        switch self {
        case .f64, .f32, .f16, .bf16, .f8e4m3, .f8e5m2: return true
        default: return false
        }
    }

    /// True for ggml block-quantised types.
    public var isBlockQuantized: Bool { blockElements > 1 || { if case .otherGGML = self { return true } else { return false } }() }

    /// Where the exponent sits in a float element: bit shift and width. Nil for non-float types.
    public var exponentField: (shift: Int, bits: Int)? {
        switch self {
        case .f64: return (52, 11)
        case .f32: return (23, 8)
        case .f16: return (10, 5)
        case .bf16: return (7, 8)
        case .f8e4m3: return (3, 4)
        case .f8e5m2: return (2, 5)
        default: return nil
        }
    }

    /// Bytes needed for `elements` values, or nil when the count is not a whole number of blocks or the
    /// size overflows.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, blockBytes > 0, elements % blockElements == 0 else { return nil }
        let (bytes, overflow) = (elements / blockElements).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }

    // MARK: safetensors names

    private static let safetensorsNames: [(TensorType, String)] = [
        (.f64, "F64"), (.f32, "F32"), (.f16, "F16"), (.bf16, "BF16"), (.f8e4m3, "F8_E4M3"), (.f8e5m2, "F8_E5M2"),
        (.i8, "I8"), (.i16, "I16"), (.i32, "I32"), (.i64, "I64"),
        (.u8, "U8"), (.u16, "U16"), (.u32, "U32"), (.u64, "U64"), (.bool, "BOOL"),
    ]

    /// The safetensors dtype string, or nil for block types.
    public var safetensorsName: String? { Self.safetensorsNames.first { $0.0 == self }?.1 }

    /// The type named by a safetensors dtype string (case-sensitive, as the reference reader).
    public init?(safetensorsName: String) {
        guard let match = Self.safetensorsNames.first(where: { $0.1 == safetensorsName }) else { return nil }
        self = match.0
    }

    // MARK: ggml type ids

    private static let ggmlIDs: [(TensorType, UInt32)] = [
        (.f32, 0), (.f16, 1), (.q4_0, 2), (.q4_1, 3), (.q5_0, 6), (.q5_1, 7), (.q8_0, 8),
        (.q2K, 10), (.q3K, 11), (.q4K, 12), (.q5K, 13), (.q6K, 14), (.iq4NL, 20),
        (.i8, 24), (.i16, 25), (.i32, 26), (.i64, 27), (.f64, 28), (.bf16, 30),
    ]

    /// ggml types this library lists and copies but does not decode, with their block geometry (from
    /// ggml's type traits).
    private static let otherGGMLSizes: [UInt32: (name: String, elements: Int, bytes: Int)] = [
        9: ("Q8_1", 32, 36), 15: ("Q8_K", 256, 292), 16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74),
        18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50), 21: ("IQ3_S", 256, 110),
        22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 29: ("IQ1_M", 256, 56), 34: ("TQ1_0", 256, 54),
        35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17),
    ]

    /// The ggml type id, or nil for types GGUF cannot store (F8, unsigned integers, BOOL).
    public var ggmlType: UInt32? {
        if case .otherGGML(let id) = self { return id }
        return Self.ggmlIDs.first { $0.0 == self }?.1
    }

    /// The type with ggml id `ggmlType`, or nil when ggml has no such type.
    public init?(ggmlType: UInt32) {
        if let match = Self.ggmlIDs.first(where: { $0.1 == ggmlType }) {
            self = match.0
        } else if Self.otherGGMLSizes[ggmlType] != nil {
            self = .otherGGML(ggmlType)
        } else {
            return nil
        }
    }

    /// The name users know: the safetensors dtype for plain types, ggml's name for block types.
    public var description: String {
        switch self {
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q2K: return "Q2_K"
        case .q3K: return "Q3_K"
        case .q4K: return "Q4_K"
        case .q5K: return "Q5_K"
        case .q6K: return "Q6_K"
        case .iq4NL: return "IQ4_NL"
        case .otherGGML(let id): return Self.otherGGMLSizes[id]?.name ?? "ggml type \(id)"
        default: return safetensorsName ?? "?"
        }
    }
}
