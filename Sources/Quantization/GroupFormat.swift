/// The GPTQ checkpoint convention's asymmetric groups: `bits`-bit codes, per group of `groupSize`
/// input columns an F16 scale and an integer zero point in 1..<2^bits (the checkpoints store zero - 1),
/// value = scale * (q - zero). In memory a block
/// is [scale F16][zero u8][one code per byte]; `GPTQTensor` packs them into qweight/qzeros/scales.
public struct GroupFormat: BlockFormat {
    public let bits: Int
    public let groupSize: Int

    public init(bits: Int, groupSize: Int) {
        precondition((2...8).contains(bits) && groupSize > 0, "group format needs 2-8 bits and a positive group size")
        self.bits = bits
        self.groupSize = groupSize
    }

    public var name: String { "w\(bits)g\(groupSize)" }
    public var blockElements: Int { groupSize }
    public var blockBytes: Int { 3 + groupSize }
    public var subgroupElements: Int { groupSize }
    public var levels: Int { 1 << bits }

    public func fit(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let grid = ScaleSearch.affine(x, importance, count: groupSize, levels: levels, rule: .integerZero)
        let scale = storeHalf(grid.scale, block, 0)
        let zero = scale > 0 ? min(max((-grid.offset / scale).rounded(), 1), Float(levels - 1)) : 1
        block.storeBytes(of: UInt8(zero), toByteOffset: 2, as: UInt8.self)
    }

    /// The stored scale and zero point of a block.
    public func parameters(_ block: UnsafeRawPointer) -> (scale: Float, zero: Int) {
        (loadHalf(block, 0), Int(block.load(fromByteOffset: 2, as: UInt8.self)))
    }

    /// The code of element `element` of a block.
    public func code(of block: UnsafeRawPointer, element: Int) -> Int { Int(block.load(fromByteOffset: 3 + element, as: UInt8.self)) }

    public func grid(_ block: UnsafeRawPointer, subgroup: Int) -> QuantGrid {
        let (scale, zero) = parameters(block)
        return QuantGrid(scale: scale, offset: -scale * Float(zero))
    }

    public func store(_ q: Int, element: Int, in block: UnsafeMutableRawPointer) {
        block.storeBytes(of: UInt8(q), toByteOffset: 3 + element, as: UInt8.self)
    }

    public func decode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>) {
        guard let base = bytes.baseAddress else { return }
        for b in 0..<(bytes.count / blockBytes) {
            let block = base + b * blockBytes
            let (scale, zero) = parameters(block)
            for e in 0..<groupSize { out[b * groupSize + e] = Float(code(of: block, element: e) - zero) * scale }
        }
    }
}
