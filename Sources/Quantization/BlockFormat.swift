import Checkpoint

/// The levels one group of elements can take after quantization: code q stands for
/// `scale * format.code(q) + offset`.
public struct QuantGrid: Sendable, Equatable {
    public var scale: Float
    public var offset: Float

    public init(scale: Float, offset: Float) {
        self.scale = scale
        self.offset = offset
    }
}

/// A block quantization format: runs of `blockElements` values along a matrix row stored in `blockBytes`
/// bytes, each run of `subgroupElements` on one `QuantGrid`. Splitting a format into "fit the block's
/// parameters", "read a subgroup's grid back" and "store one element's code" lets round-to-nearest and
/// GPTQ (which quantizes one column at a time and moves the error onto later columns) share every format.
public protocol BlockFormat: Sendable {
    /// The name users pass and see (`q4_0`, `w2g64`, ...).
    var name: String { get }
    var blockElements: Int { get }
    var blockBytes: Int { get }
    var subgroupElements: Int { get }
    /// Codes run over 0..<levels.
    var levels: Int { get }
    /// Whether code q stands for q itself (a uniform grid); otherwise `code(_:)` gives a table value.
    var isUniform: Bool { get }
    /// The value of code q in units of the grid's scale.
    func code(_ q: Int) -> Float
    /// Chooses the block's parameters for the values `x`, weighting each element's squared error by
    /// `importance`, and writes them into `block` (codes are stored afterwards, one by one).
    func fit(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, into block: UnsafeMutableRawPointer)
    /// The grid of `subgroup` as the parameters stored in `block` define it.
    func grid(_ block: UnsafeRawPointer, subgroup: Int) -> QuantGrid
    /// Stores code `q` for element `element` of `block`.
    func store(_ q: Int, element: Int, in block: UnsafeMutableRawPointer)
    /// Decodes whole blocks to floats exactly as the format's readers do.
    func decode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>)
}

extension BlockFormat {
    public var isUniform: Bool { true }
    public func code(_ q: Int) -> Float { Float(q) }

    /// The code whose level is nearest to `value` on `grid`.
    @inline(__always) public func nearest(_ value: Float, on grid: QuantGrid) -> Int {
        if isUniform {
            guard grid.scale != 0 else { return 0 }
            let q = ((value - grid.offset) / grid.scale).rounded()
            return q.isFinite ? Int(min(max(q, 0), Float(levels - 1))) : 0
        }
        var best = 0, bestError = Float.infinity
        for q in 0..<levels {
            let error = abs(grid.scale * code(q) + grid.offset - value)
            if error < bestError { (best, bestError) = (q, error) }
        }
        return best
    }

    /// Quantizes one block of `x` to the nearest levels after fitting its parameters.
    public func quantizeBlock(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        block.initializeMemory(as: UInt8.self, repeating: 0, count: blockBytes)
        fit(x, importance: importance, into: block)
        for s in 0..<(blockElements / subgroupElements) {
            let g = grid(UnsafeRawPointer(block), subgroup: s)
            for e in (s * subgroupElements)..<((s + 1) * subgroupElements) { store(nearest(x[e], on: g), element: e, in: block) }
        }
    }
}

/// A block format that is a ggml type: its name, geometry and decoder (the library's dequantizer,
/// bit-exact with ggml) come from the type.
protocol GGUFBlockFormat: BlockFormat {
    var type: TensorType { get }
}

extension GGUFBlockFormat {
    var name: String { type.description.lowercased() }
    var blockElements: Int { type.blockElements }
    var blockBytes: Int { type.blockBytes }

    func decode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>) {
        BlockDequantizer.dequantize(type, bytes, into: out, blocks: bytes.count / type.blockBytes)
    }
}

/// The block formats of ggml that we can write, with the GGUF tensor type each one produces.
public enum GGUFFormats {
    /// The ggml type a format writes, nil for formats GGUF cannot hold.
    public static func type(of format: BlockFormat) -> TensorType? { (format as? GGUFBlockFormat)?.type }

    public static func format(for type: TensorType) -> BlockFormat? {
        switch type {
        case .q4_0: return SymmetricBlockFormat.q4_0
        case .q5_0: return SymmetricBlockFormat.q5_0
        case .q8_0: return SymmetricBlockFormat.q8_0
        case .q4_1: return AffineBlockFormat.q4_1
        case .q5_1: return AffineBlockFormat.q5_1
        case .iq4NL: return NonLinearBlockFormat()
        case .q2K: return Q2KFormat()
        case .q3K: return Q3KFormat()
        case .q4K: return Q4KFormat()
        case .q6K: return Q6KFormat()
        default: return nil
        }
    }
}
