import Checkpoint
import Kernels

/// Where ggml's 32-element block types keep each element's code.
enum LegacyCodeLayout: Sendable {
    /// Nibbles: element j < 16 in the low half of byte j, element j + 16 in its high half.
    case nibbles(at: Int)
    /// Nibbles as above plus a fifth bit per element in a little-endian u32 at `fifthBits`.
    case fiveBits(fifthBits: Int, nibbles: Int)
    /// One signed byte per element, code q stored as q - zero.
    case bytes(at: Int, zero: Int)

    func store(_ q: Int, element e: Int, in block: UnsafeMutableRawPointer) {
        let bytes = block.assumingMemoryBound(to: UInt8.self)
        switch self {
        case .nibbles(let at):
            bytes[at + e % 16] |= UInt8(q & 15) << UInt8(4 * (e / 16))
        case .fiveBits(let fifthBits, let nibbles):
            bytes[nibbles + e % 16] |= UInt8(q & 15) << UInt8(4 * (e / 16))
            bytes[fifthBits + e / 8] |= UInt8((q >> 4) & 1) << UInt8(e % 8)
        case .bytes(let at, let zero):
            bytes[at + e] = UInt8(truncatingIfNeeded: q - zero)
        }
    }
}

@inline(__always) func loadHalf(_ block: UnsafeRawPointer, _ offset: Int) -> Float {
    NarrowFloat.halfToFloat(block.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
}

@inline(__always) func storeHalf(_ value: Float, _ block: UnsafeMutableRawPointer, _ offset: Int) -> Float {
    let bits = NarrowFloat.floatToHalf(value)
    block.storeBytes(of: bits, toByteOffset: offset, as: UInt16.self)
    return NarrowFloat.halfToFloat(bits)
}

/// Q4_0, Q5_0, Q8_0: value = d * (q - zero) with one F16 scale d per 32 elements.
struct SymmetricBlockFormat: GGUFBlockFormat {
    static let q4_0 = SymmetricBlockFormat(type: .q4_0, zero: 8, levels: 16, layout: .nibbles(at: 2))
    static let q5_0 = SymmetricBlockFormat(type: .q5_0, zero: 16, levels: 32, layout: .fiveBits(fifthBits: 2, nibbles: 6))
    /// Q8_0 uses -127...127 as ggml does, so that d * q stays symmetric.
    static let q8_0 = SymmetricBlockFormat(type: .q8_0, zero: 127, levels: 255, layout: .bytes(at: 2, zero: 127))

    let type: TensorType
    let zero: Int
    let levels: Int
    let layout: LegacyCodeLayout
    var subgroupElements: Int { 32 }

    func fit(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        _ = storeHalf(ScaleSearch.symmetric(x, importance, count: 32, lowest: -zero, highest: levels - 1 - zero), block, 0)
    }

    func grid(_ block: UnsafeRawPointer, subgroup: Int) -> QuantGrid {
        let d = loadHalf(block, 0)
        return QuantGrid(scale: d, offset: -d * Float(zero))
    }

    func store(_ q: Int, element: Int, in block: UnsafeMutableRawPointer) {
        layout.store(q, element: element, in: block)
    }

}

/// Q4_1, Q5_1: value = d * q + m with F16 d and m per 32 elements.
struct AffineBlockFormat: GGUFBlockFormat {
    static let q4_1 = AffineBlockFormat(type: .q4_1, levels: 16, layout: .nibbles(at: 4))
    static let q5_1 = AffineBlockFormat(type: .q5_1, levels: 32, layout: .fiveBits(fifthBits: 4, nibbles: 8))

    let type: TensorType
    let levels: Int
    let layout: LegacyCodeLayout
    var subgroupElements: Int { 32 }

    func fit(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let grid = ScaleSearch.affine(x, importance, count: 32, levels: levels, rule: .free)
        _ = storeHalf(grid.scale, block, 0)
        _ = storeHalf(grid.offset, block, 2)
    }

    func grid(_ block: UnsafeRawPointer, subgroup: Int) -> QuantGrid { QuantGrid(scale: loadHalf(block, 0), offset: loadHalf(block, 2)) }

    func store(_ q: Int, element: Int, in block: UnsafeMutableRawPointer) { layout.store(q, element: element, in: block) }

}

/// IQ4_NL: value = d * table[q], the table denser near zero; llama.cpp's fallback for Q2_K/Q3_K rows
/// that are not a multiple of 256 long.
struct NonLinearBlockFormat: GGUFBlockFormat {
    var type: TensorType { .iq4NL }
    var subgroupElements: Int { 32 }
    var levels: Int { 16 }
    var isUniform: Bool { false }
    func code(_ q: Int) -> Float { Float(BlockDequantizer.iq4NLLevels[q]) }

    func fit(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        var extreme: Float = 0
        for i in 0..<32 where abs(x[i]) > abs(extreme) { extreme = x[i] }
        var best: Float = 0, bestError = Float.infinity
        // The extreme value on the table's end (-127), then nearby scales, each refitted by least squares.
        for step in -ScaleSearch.candidateSteps...ScaleSearch.candidateSteps where extreme != 0 {
            let d = extreme / (-127 + Float(step))
            var xq: Float = 0, qq: Float = 0
            for i in 0..<32 {
                let level = code(nearest(x[i], on: QuantGrid(scale: d, offset: 0)))
                xq += importance[i] * x[i] * level
                qq += importance[i] * level * level
            }
            for candidate in [d, qq > 0 ? xq / qq : d] {
                var error: Float = 0
                for i in 0..<32 {
                    let e = x[i] - candidate * code(nearest(x[i], on: QuantGrid(scale: candidate, offset: 0)))
                    error += importance[i] * e * e
                }
                if error < bestError { (best, bestError) = (candidate, error) }
            }
        }
        _ = storeHalf(best, block, 0)
    }

    func grid(_ block: UnsafeRawPointer, subgroup: Int) -> QuantGrid { QuantGrid(scale: loadHalf(block, 0), offset: 0) }

    func store(_ q: Int, element: Int, in block: UnsafeMutableRawPointer) { LegacyCodeLayout.nibbles(at: 2).store(q, element: element, in: block) }

}
