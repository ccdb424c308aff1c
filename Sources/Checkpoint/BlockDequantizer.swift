import Kernels

/// Dequantisation of ggml's block types to Float, bit-exact with ggml and gguf-py: the same float32
/// operations in the same order (scale products first, then q * scale, then the offset).
public enum BlockDequantizer {
    /// Decodes `blocks` whole blocks of `type` from `bytes` (which must hold them) into `out`.
    public static func dequantize(_ type: TensorType, _ bytes: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>, blocks: Int) {
        let blockBytes = type.blockBytes
        let blockElements = type.blockElements
        for b in 0..<blocks {
            let block = UnsafeRawBufferPointer(rebasing: bytes[(b * blockBytes)..<((b + 1) * blockBytes)])
            let y = out + b * blockElements
            switch type {
            case .q4_0: q4_0(block, y)
            case .q4_1: q4_1(block, y)
            case .q5_0: q5_0(block, y)
            case .q5_1: q5_1(block, y)
            case .q8_0: q8_0(block, y)
            case .q2K: q2K(block, y)
            case .q3K: q3K(block, y)
            case .q4K: kQuant(block, y, fifthBits: false)
            case .q5K: kQuant(block, y, fifthBits: true)
            case .q6K: q6K(block, y)
            case .iq4NL: iq4NL(block, y)
            default: preconditionFailure("\(type) is not a block type")
            }
        }
    }

    @inline(__always) private static func half(_ block: UnsafeRawBufferPointer, _ offset: Int) -> Float {
        NarrowFloat.halfToFloat(block.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    private static func q4_0(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        for j in 0..<16 {
            let q = block[2 + j]
            y[j] = d * Float(Int(q & 15) - 8)
            y[j + 16] = d * Float(Int(q >> 4) - 8)
        }
    }

    private static func q4_1(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0), m = half(block, 2)
        for j in 0..<16 {
            let q = block[4 + j]
            y[j] = d * Float(q & 15) + m
            y[j + 16] = d * Float(q >> 4) + m
        }
    }

    /// IQ4_NL's sixteen levels (ggml's kvalues_iq4nl), denser near zero where weights are.
    public static let iq4NLLevels: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    private static func iq4NL(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        for j in 0..<16 {
            let q = block[2 + j]
            y[j] = d * Float(iq4NLLevels[Int(q & 15)])
            y[j + 16] = d * Float(iq4NLLevels[Int(q >> 4)])
        }
    }

    /// The fifth bits of Q5_0/Q5_1: bit j of the little-endian u32 belongs to element j.
    private static func q5(_ block: UnsafeRawBufferPointer, qhOffset: Int, _ body: (Int, Int) -> Void) {
        let qh = block.loadUnaligned(fromByteOffset: qhOffset, as: UInt32.self)
        for j in 0..<16 {
            let q = block[qhOffset + 4 + j]
            let low = Int(q & 15) | Int((qh >> UInt32(j)) & 1) << 4
            let high = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
            body(j, low)
            body(j + 16, high)
        }
    }

    private static func q5_0(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        q5(block, qhOffset: 2) { index, q in y[index] = d * Float(q - 16) }
    }

    private static func q5_1(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0), m = half(block, 2)
        q5(block, qhOffset: 4) { index, q in y[index] = d * Float(q) + m }
    }

    private static func q8_0(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        for j in 0..<32 { y[j] = Float(Int8(bitPattern: block[2 + j])) * d }
    }

    /// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin. Element h*128 + s*32 + l takes
    /// two bits at shift 2s of qs[h*32 + l]; each 16 elements share a scale byte.
    private static func q2K(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 80), dmin = half(block, 82)
        for group in 0..<16 {
            let sc = block[group]
            let dl = d * Float(sc & 15), ml = dmin * Float(sc >> 4)
            for i in 0..<16 {
                let index = group * 16 + i
                let (h, rest) = index.quotientAndRemainder(dividingBy: 128)
                let (s, l) = rest.quotientAndRemainder(dividingBy: 32)
                let q = (block[16 + h * 32 + l] >> UInt8(2 * s)) & 3
                y[index] = dl * Float(q) - ml
            }
        }
    }

    /// Q3_K: hmask[32], qs[64], scales[12] (sixteen 6-bit values, biased by 32), d.
    private static func q3K(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 108)
        for group in 0..<16 {
            let low = (block[96 + group % 8] >> UInt8(4 * (group / 8))) & 15
            let high = (block[104 + group % 4] >> UInt8(2 * (group / 4))) & 3
            let dl = d * Float(Int(low | high << 4) - 32)
            for i in 0..<16 {
                let index = group * 16 + i
                let (h, rest) = index.quotientAndRemainder(dividingBy: 128)
                let (s, l) = rest.quotientAndRemainder(dividingBy: 32)
                let q2 = Int((block[32 + h * 32 + l] >> UInt8(2 * s)) & 3)
                let (k, l2) = index.quotientAndRemainder(dividingBy: 32)
                let maskBit = (block[l2] >> UInt8(k)) & 1
                y[index] = dl * Float(q2 - (maskBit == 0 ? 4 : 0))
            }
        }
    }

    /// The eight 6-bit (scale, min) pairs of Q4_K and Q5_K, packed in 12 bytes at `offset`.
    private static func scaleMin(_ block: UnsafeRawBufferPointer, _ offset: Int, _ j: Int) -> (Float, Float) {
        let s = { (i: Int) in block[offset + i] }
        if j < 4 { return (Float(s(j) & 63), Float(s(j + 4) & 63)) }
        let scale = (s(j + 4) & 0x0F) | ((s(j - 4) >> 2) & 0x30)
        let min = (s(j + 4) >> 4) | ((s(j) >> 2) & 0x30)
        return (Float(scale), Float(min))
    }

    /// Q4_K: d, dmin, scales[12], qs[128]; 64-element chunks of 32 low nibbles then 32 high nibbles.
    /// Q5_K: the same with qh[32] before qs, the fifth bit of element k*32 + l being bit k of qh[l].
    private static func kQuant(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>, fifthBits: Bool) {
        let d = half(block, 0), dmin = half(block, 2)
        let qs = fifthBits ? 48 : 16
        for group in 0..<8 {
            let (sc, m) = scaleMin(block, 4, group)
            let dl = d * sc, ml = dmin * m
            let (chunk, shift) = group.quotientAndRemainder(dividingBy: 2)
            for l in 0..<32 {
                var q = (block[qs + chunk * 32 + l] >> UInt8(4 * shift)) & 15
                if fifthBits { q |= ((block[16 + l] >> UInt8(group)) & 1) << 4 }
                y[group * 32 + l] = dl * Float(q) - ml
            }
        }
    }

    /// Q6_K: ql[128], qh[64], scales[16] (int8), d. Element h*128 + s*32 + l: the low nibble of
    /// ql[h*64 + (s%2)*32 + l] (shift 4 for s >= 2), two high bits at shift 2s of qh[h*32 + l].
    private static func q6K(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 208)
        for group in 0..<16 {
            let dl = d * Float(Int8(bitPattern: block[192 + group]))
            for i in 0..<16 {
                let index = group * 16 + i
                let (h, rest) = index.quotientAndRemainder(dividingBy: 128)
                let (s, l) = rest.quotientAndRemainder(dividingBy: 32)
                let low = (block[h * 64 + (s % 2) * 32 + l] >> UInt8(4 * (s / 2))) & 15
                let high = (block[128 + h * 32 + l] >> UInt8(2 * s)) & 3
                y[index] = dl * Float(Int(low | high << 4) - 32)
            }
        }
    }
}
