import Checkpoint

/// ggml's K-quant super-blocks of 256: each subgroup's grid is itself quantized, to a small integer
/// multiple of one F16 super-scale (and of a super-minimum for the asymmetric types). Fitting picks each
/// subgroup's best grid first, then quantizes those grids onto the super-block's scales.
/// The subgroups' best affine grids (minimum at most 0), then each grid's scale and negated minimum as
/// multiples 0...steps of one F16 super-scale (stored at `dOffset`) and one F16 super-minimum (at
/// `dminOffset`). Returns the multiples per subgroup.
private func quantizedAffineScales(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, subgroups: Int, size: Int, levels: Int, steps: Int,
                                   into block: UnsafeMutableRawPointer, dOffset: Int, dminOffset: Int) -> [(scale: UInt8, min: UInt8)] {
    let grids = (0..<subgroups).map { ScaleSearch.affine(x + $0 * size, w + $0 * size, count: size, levels: levels, rule: .nonPositive) }
    let d = storeHalf((grids.map(\.scale).max() ?? 0) / Float(steps), block, dOffset)
    let dmin = storeHalf((grids.map { -$0.offset }.max() ?? 0) / Float(steps), block, dminOffset)
    func multiple(_ value: Float, _ unit: Float) -> UInt8 { UInt8(unit > 0 ? min(max((value / unit).rounded(), 0), Float(steps)) : 0) }
    return grids.map { (multiple($0.scale, d), multiple(-$0.offset, dmin)) }
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
struct Q4KFormat: GGUFBlockFormat {
    var type: TensorType { .q4K }
    var subgroupElements: Int { 32 }
    var levels: Int { 16 }

    func fit(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let multiples = quantizedAffineScales(x, importance, subgroups: 8, size: 32, levels: 16, steps: 63, into: block, dOffset: 0, dminOffset: 2)
        let s = block.assumingMemoryBound(to: UInt8.self) + 4
        for (j, (sc, m)) in multiples.enumerated() {
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

}

/// The two-bit planes of Q2_K and Q3_K: element h*128 + s*32 + l at shift 2s of byte h*32 + l.
@inline(__always) private func storeTwoBits(_ q: Int, element e: Int, at offset: Int, in block: UnsafeMutableRawPointer) {
    let (h, rest) = e.quotientAndRemainder(dividingBy: 128)
    let (s, l) = rest.quotientAndRemainder(dividingBy: 32)
    block.assumingMemoryBound(to: UInt8.self)[offset + h * 32 + l] |= UInt8(q & 3) << UInt8(2 * s)
}

/// Q2_K: 16 subgroups of 16, value = d * sc * q - dmin * m, q 0...3, four-bit sc and m.
struct Q2KFormat: GGUFBlockFormat {
    var type: TensorType { .q2K }
    var subgroupElements: Int { 16 }
    var levels: Int { 4 }

    func fit(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let multiples = quantizedAffineScales(x, importance, subgroups: 16, size: 16, levels: 4, steps: 15, into: block, dOffset: 80, dminOffset: 82)
        for (j, (sc, m)) in multiples.enumerated() { block.storeBytes(of: sc | m << 4, toByteOffset: j, as: UInt8.self) }
    }

    func grid(_ block: UnsafeRawPointer, subgroup j: Int) -> QuantGrid {
        let sc = block.load(fromByteOffset: j, as: UInt8.self)
        return QuantGrid(scale: loadHalf(block, 80) * Float(sc & 15), offset: -(loadHalf(block, 82) * Float(sc >> 4)))
    }

    func store(_ q: Int, element: Int, in block: UnsafeMutableRawPointer) { storeTwoBits(q, element: element, at: 16, in: block) }

}

/// Q3_K: 16 subgroups of 16, value = d * sc * (q - 4), q 0...7 (two bits plus a high-mask bit), six-bit
/// signed sc.
struct Q3KFormat: GGUFBlockFormat {
    var type: TensorType { .q3K }
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

}

/// Q6_K: 16 subgroups of 16, value = d * sc * (q - 32), q 0...63, int8 sc. What llama.cpp gives the
/// output head.
struct Q6KFormat: GGUFBlockFormat {
    var type: TensorType { .q6K }
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

}
