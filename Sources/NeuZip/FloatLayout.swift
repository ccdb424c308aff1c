/// The bit layout of an IEEE-style float format: sign, exponent and mantissa widths.
/// NeuZip needs nothing else of a dtype, so it stays independent of the checkpoint library.
public struct FloatLayout: Sendable, Equatable {
    public let exponentBits: Int
    public let mantissaBits: Int

    public init(exponentBits: Int, mantissaBits: Int) {
        precondition(exponentBits >= 2 && mantissaBits >= 0 && 1 + exponentBits + mantissaBits <= 32)
        self.exponentBits = exponentBits
        self.mantissaBits = mantissaBits
    }

    public static let float32 = FloatLayout(exponentBits: 8, mantissaBits: 23)
    public static let bfloat16 = FloatLayout(exponentBits: 8, mantissaBits: 7)
    public static let float16 = FloatLayout(exponentBits: 5, mantissaBits: 10)

    /// Bytes per element.
    public var byteWidth: Int { (1 + exponentBits + mantissaBits) / 8 }
    var exponentMask: UInt32 { (1 << UInt32(exponentBits)) - 1 }
    var mantissaMask: UInt32 { (1 << UInt32(mantissaBits)) - 1 }
    var signShift: UInt32 { UInt32(exponentBits + mantissaBits) }

    /// Rounds the raw bits of one value to `keptBits` mantissa bits, NeuZip's way: add the first dropped
    /// bit to the magnitude (round half away from zero), let a carry run into the exponent, and fall back
    /// to truncation where the carry would reach infinity. Infinities and NaN are returned unchanged
    /// (callers keep them exactly).
    public func round(_ bits: UInt32, keptBits: Int) -> UInt32 {
        MantissaRounding(self, keptBits: keptBits).apply(bits)
    }

    /// Rounds every value of `input` (little-endian, this layout) as `round` does, into `output` (same size).
    public func round(_ input: UnsafeRawBufferPointer, keptBits: Int, into output: UnsafeMutableRawBufferPointer) {
        let rounding = MantissaRounding(self, keptBits: keptBits)
        for i in 0..<(input.count / byteWidth) {
            FloatChunkCodec.storeBits(output, i, byteWidth, rounding.apply(FloatChunkCodec.loadBits(input, i, byteWidth)))
        }
    }
}

/// `FloatLayout.round` with its constants worked out once, for loops over a whole chunk.
struct MantissaRounding {
    let mantissaBits: UInt32
    let exponentMask: UInt32
    let half: UInt32
    let clear: UInt32
    let dropsNothing: Bool

    init(_ layout: FloatLayout, keptBits: Int) {
        let dropped = UInt32(layout.mantissaBits - keptBits)
        mantissaBits = UInt32(layout.mantissaBits)
        exponentMask = layout.exponentMask
        dropsNothing = dropped == 0
        half = dropsNothing ? 0 : 1 &<< (dropped &- 1)
        clear = ~((1 &<< dropped) &- 1)
    }

    @inline(__always) func apply(_ bits: UInt32) -> UInt32 {
        if dropsNothing { return bits }
        if (bits &>> mantissaBits) & exponentMask == exponentMask { return bits }
        let rounded = (bits &+ half) & clear
        return (rounded &>> mantissaBits) & exponentMask == exponentMask ? bits & clear : rounded
    }
}
