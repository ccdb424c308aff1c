import Checkpoint
import LM

/// What a model is quantized to: a GGUF block type (llama.cpp) or GPTQ-convention groups.
public enum QuantizationTarget: Sendable, Equatable, CustomStringConvertible {
    case gguf(TensorType)
    /// `bits`-bit codes, an F16 scale and integer zero point per `groupSize` inputs (`w2g64`...).
    case groups(bits: Int, groupSize: Int)

    /// Block types we write, and F32/F16 (the model expanded to floats, e.g. as llama.cpp's quantizer's input).
    public static let ggufTypes: [TensorType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4K, .q3K, .q2K, .q6K, .iq4NL, .f32, .f16]

    /// Parses `q4_0`, `q4_k`, `iq4_nl`, ... or `wNgG` (N in 2...4 or 8, G in 32, 64, 128).
    public init?(_ text: String) {
        let lower = text.lowercased()
        if let type = Self.ggufTypes.first(where: { $0.description.lowercased() == lower }) {
            self = .gguf(type)
            return
        }
        guard lower.hasPrefix("w"), let g = lower.firstIndex(of: "g"),
              let bits = Int(lower[lower.index(after: lower.startIndex)..<g]), let size = Int(lower[lower.index(after: g)...]),
              [2, 3, 4, 8].contains(bits), [32, 64, 128].contains(size) else { return nil }
        self = .groups(bits: bits, groupSize: size)
    }

    public var description: String {
        switch self {
        case .gguf(let type): return type.description.lowercased()
        case .groups(let bits, let size): return "w\(bits)g\(size)"
        }
    }

    /// llama.cpp's fallback when a row is not a whole number of `type`'s blocks (llama_tensor_get_type),
    /// and F16 when no block type fits.
    static func fallback(_ type: TensorType, rowLength: Int) -> TensorType {
        if rowLength % type.blockElements == 0 { return type }
        let next: TensorType
        switch type {
        case .q2K, .q3K: next = .iq4NL
        case .q4K: next = .q5_0
        case .q5K: next = .q5_1
        case .q6K: next = .q8_0
        default: return .f16
        }
        return fallback(next, rowLength: rowLength)
    }

    /// The type llama.cpp's mix gives a GGUF tensor: the output head (or the tied embedding, which is the
    /// head) Q6_K, other matrices the target, vectors F32; with the fallback for odd row lengths.
    func ggufType(shape: [Int], isOutputHead: Bool) -> TensorType {
        guard case .gguf(let type) = self, shape.count == 2 else { return .f32 }
        if type.isFloat { return type }
        let chosen: TensorType = isOutputHead && type != .q8_0 ? .q6K : type
        return Self.fallback(chosen, rowLength: shape[1])
    }

    /// The block format a tensor gets, or nil when it stays in floats.
    func format(for name: String, shape: [Int], isOutputHead: Bool) -> BlockFormat? {
        switch self {
        case .gguf:
            return GGUFFormats.format(for: ggufType(shape: shape, isOutputHead: isOutputHead))
        case .groups(let bits, let size):
            // GPTQ checkpoints quantize the blocks' linear layers and keep embeddings and head in floats.
            guard shape.count == 2, name.hasPrefix("model.layers."), shape[1] % size == 0,
                  (shape[1] * bits) % 32 == 0, (shape[0] * bits) % 32 == 0 else { return nil }
            return GroupFormat(bits: bits, groupSize: size)
        }
    }
}
