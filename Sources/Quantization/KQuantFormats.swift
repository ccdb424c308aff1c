import Checkpoint

/// ggml's K-quant super-blocks of 256: each subgroup's grid is itself quantized, to a small integer
/// multiple of one F16 super-scale (and of a super-minimum for the asymmetric types). Fitting picks each
/// subgroup's best grid first, then quantizes those grids onto the super-block's scales.
private func superScale(_ values: [Float], steps: Int) -> Float {
    (values.max() ?? 0) / Float(steps)
}

/// The subgroup's best symmetric scales, then a signed integer multiple of one super-scale for each.
/// Returns the super-scale and the multiples (the most negative multiple at the largest magnitude, as ggml).
private func quantizedSymmetricScales(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, subgroups: Int, size: Int,
                                      lowest: Int, highest: Int, scaleLowest: Int, scaleHighest: Int) -> (d: Float, multiples: [Int]) {
    let scales = (0..<subgroups).map { ScaleSearch.symmetric(x + $0 * size, w + $0 * size, count: size, lowest: lowest, highest: highest) }
    let extreme = scales.max { abs($0) < abs($1) } ?? 0
    let d = extreme / Float(scaleLowest)
    guard d != 0 else { return (0, [Int](repeating: 0, count: subgroups)) }
    return (d, scales.map { Int(min(max(($0 / d).rounded(), Float(scaleLowest)), Float(scaleHighest))) })
}

/// Q4_K: 8 subgroups of 32, value = d * sc * q - dmin * m, q 0...15, six-bit sc and m.
struct Q4KFormat: BlockFormat {
    var name: String { "q4_k" }
    var blockElements: Int { 256 }
    var blockBytes: Int { 144 }
    var subgroupElements: Int { 32 }
    var levels: Int { 16 }

    func fit(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let grids = (0..<8).map { ScaleSearch.affine(x + $0 * 32, importance + $0 * 32, count: 32, levels: 16, rule: .nonPositive) }
        let d = storeHalf(superScale(grids.map(\.scale), steps: 63), block, 0)
        let dmin = storeHalf(superScale(grids.map { -$0.offset }, steps: 63), block, 2)
        let s = block.assumingMemoryBound(to: UInt8.self) + 4
        for (j, grid) in grids.enumerated() {
            let sc = UInt8(d > 0 ? min(max((grid.scale / d).rounded(), 0), 63) : 0)
            let m = UInt8(dmin > 0 ? min(max((-grid.offset / dmin).rounded(), 0), 63) : 0)
            if j < 4 {
                s[j] |= sc
                s[j + 4] |= m
            } else {
                s[j + 4] = (sc & 15) | (m & 15) << 4
                s[j - 4] |= (sc >> 4) << 6
                s[j] |= (m >> 4) << 6
            }
        }
    }

    func grid(_ block: UnsafeRawPointer, subgroup j: Int) -> QuantGrid {
        let s = block.assumingMemoryBound(to: UInt8.self) + 4
        let sc, m: UInt8
        if j < 4 {
            (sc, m) = (s[j] & 63, s[j + 4] & 63)
        } else {
            (sc, m) = ((s[j + 4] & 15) | ((s[j - 4] >> 2) & 0x30), (s[j + 4] >> 4) | ((s[j] >> 2) & 0x30))
        }
        return QuantGrid(scale: loadHalf(block, 0) * Float(sc), offset: -(loadHalf(block, 2) * Float(m)))
    }

    func store(_ q: Int, element e: Int, in block: UnsafeMutableRawPointer) {
        let group = e / 32
        block.assumingMemoryBound(to: UInt8.self)[16 + (group / 2) * 32 + e % 32] |= UInt8(q) << UInt8(4 * (group % 2))
    }

    func decode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>) { GGUFFormats.decode(.q4K, bytes, into: out) }
}

/// The two-bit planes of Q2_K and Q3_K: element h*128 + s*32 + l at shift 2s of byte h*32 + l.
@inline(__always) private func storeTwoBits(_ q: Int, element e: Int, at offset: Int, in block: UnsafeMutableRawPointer) {
    let (h, rest) = e.quotientAndRemainder(dividingBy: 128)
    let (s, l) = rest.quotientAndRemainder(dividingBy: 32)
    block.assumingMemoryBound(to: UInt8.self)[offset + h * 32 + l] |= UInt8(q & 3) << UInt8(2 * s)
}

/// Q2_K: 16 subgroups of 16, value = d * sc * q - dmin * m, q 0...3, four-bit sc and m.
struct Q2KFormat: BlockFormat {
    var name: String { "q2_k" }
    var blockElements: Int { 256 }
    var blockBytes: Int { 84 }
    var subgroupElements: Int { 16 }
    var levels: Int { 4 }

    func fit(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let grids = (0..<16).map { ScaleSearch.affine(x + $0 * 16, importance + $0 * 16, count: 16, levels: 4, rule: .nonPositive) }
        let d = storeHalf(superScale(grids.map(\.scale), steps: 15), block, 80)
        let dmin = storeHalf(superScale(grids.map { -$0.offset }, steps: 15), block, 82)
        let s = block.assumingMemoryBound(to: UInt8.self)
        for (j, grid) in grids.enumerated() {
            let sc = UInt8(d > 0 ? min(max((grid.scale / d).rounded(), 0), 15) : 0)
            let m = UInt8(dmin > 0 ? min(max((-grid.offset / dmin).rounded(), 0), 15) : 0)
            s[j] = sc | m << 4
        }
    }

    func grid(_ block: UnsafeRawPointer, subgroup j: Int) -> QuantGrid {
        let sc = block.load(fromByteOffset: j, as: UInt8.self)
        return QuantGrid(scale: loadHalf(block, 80) * Float(sc & 15), offset: -(loadHalf(block, 82) * Float(sc >> 4)))
    }

    func store(_ q: Int, element: Int, in block: UnsafeMutableRawPointer) { storeTwoBits(q, element: element, at: 16, in: block) }

    func decode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>) { GGUFFormats.decode(.q2K, bytes, into: out) }
}

/// Q3_K: 16 subgroups of 16, value = d * sc * (q - 4), q 0...7 (two bits plus a high-mask bit), six-bit
/// signed sc.
struct Q3KFormat: BlockFormat {
    var name: String { "q3_k" }
    var blockElements: Int { 256 }
    var blockBytes: Int { 110 }
    var subgroupElements: Int { 16 }
    var levels: Int { 8 }

    func fit(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let (d, multiples) = quantizedSymmetricScales(x, importance, subgroups: 16, size: 16, lowest: -4, highest: 3,
                                                      scaleLowest: -32, scaleHighest: 31)
        _ = storeHalf(d, block, 108)
        let s = block.assumingMemoryBound(to: UInt8.self)
        for (j, multiple) in multiples.enumerated() {
            let v = UInt8(multiple + 32)
            s[96 + j % 8] |= (v & 15) << UInt8(4 * (j / 8))
            s[104 + j % 4] |= (v >> 4) << UInt8(2 * (j / 4))
        }
    }

    func grid(_ block: UnsafeRawPointer, subgroup j: Int) -> QuantGrid {
        let s = block.assumingMemoryBound(to: UInt8.self)
        let low = (s[96 + j % 8] >> UInt8(4 * (j / 8))) & 15, high = (s[104 + j % 4] >> UInt8(2 * (j / 4))) & 3
        let scale = loadHalf(block, 108) * Float(Int(low | high << 4) - 32)
        return QuantGrid(scale: scale, offset: -4 * scale)
    }

    func store(_ q: Int, element e: Int, in block: UnsafeMutableRawPointer) {
        storeTwoBits(q, element: e, at: 32, in: block)
        if q >= 4 { block.assumingMemoryBound(to: UInt8.self)[e % 32] |= 1 << UInt8(e / 32) }
    }

    func decode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>) { GGUFFormats.decode(.q3K, bytes, into: out) }
}

/// Q6_K: 16 subgroups of 16, value = d * sc * (q - 32), q 0...63, int8 sc. What llama.cpp gives the
/// output head.
struct Q6KFormat: BlockFormat {
    var name: String { "q6_k" }
    var blockElements: Int { 256 }
    var blockBytes: Int { 210 }
    var subgroupElements: Int { 16 }
    var levels: Int { 64 }

    func fit(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let (d, multiples) = quantizedSymmetricScales(x, importance, subgroups: 16, size: 16, lowest: -32, highest: 31,
                                                      scaleLowest: -128, scaleHighest: 127)
        _ = storeHalf(d, block, 208)
        for (j, multiple) in multiples.enumerated() { block.storeBytes(of: Int8(multiple), toByteOffset: 192 + j, as: Int8.self) }
    }

    func grid(_ block: UnsafeRawPointer, subgroup j: Int) -> QuantGrid {
        let scale = loadHalf(block, 208) * Float(block.load(fromByteOffset: 192 + j, as: Int8.self))
        return QuantGrid(scale: scale, offset: -32 * scale)
    }

    func store(_ q: Int, element e: Int, in block: UnsafeMutableRawPointer) {
        let (h, rest) = e.quotientAndRemainder(dividingBy: 128)
        let (s, l) = rest.quotientAndRemainder(dividingBy: 32)
        let bytes = block.assumingMemoryBound(to: UInt8.self)
        bytes[h * 64 + (s % 2) * 32 + l] |= UInt8(q & 15) << UInt8(4 * (s / 2))
        bytes[128 + h * 32 + l] |= UInt8(q >> 4) << UInt8(2 * s)
    }

    func decode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>) { GGUFFormats.decode(.q6K, bytes, into: out) }
}
