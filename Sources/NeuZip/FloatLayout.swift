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

    /// The dtype's usual name (BF16, F16, F32), or its field widths for any other layout.
    public var name: String {
        switch self {
        case .bfloat16: return "BF16"
        case .float16: return "F16"
        case .float32: return "F32"
        default: return "E\(exponentBits)M\(mantissaBits)"
        }
    }

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
    /// One loop per width over typed pointers, which the compiler turns into vector code.
    public func round(_ input: UnsafeRawBufferPointer, keptBits: Int, into output: UnsafeMutableRawBufferPointer) {
        let rounding = MantissaRounding(self, keptBits: keptBits)
        let n = input.count / byteWidth
        guard n > 0, let source = input.baseAddress, let target = output.baseAddress else { return }
        if byteWidth == 4 {
            let from = source.assumingMemoryBound(to: UInt32.self), to = target.assumingMemoryBound(to: UInt32.self)
            for i in 0..<n { to[i] = rounding.apply(UInt32(littleEndian: from[i])).littleEndian }
        } else {
            let from = source.assumingMemoryBound(to: UInt16.self), to = target.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { to[i] = UInt16(truncatingIfNeeded: rounding.apply(UInt32(UInt16(littleEndian: from[i])))).littleEndian }
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

    /// Infinity or NaN (the exponent field all ones): values that rounding leaves alone.
    @inline(__always) func isSpecial(_ bits: UInt32) -> Bool { (bits &>> mantissaBits) & exponentMask == exponentMask }

    /// Without branches on the value (selects), so that loops over it vectorise.
    @inline(__always) func apply(_ bits: UInt32) -> UInt32 {
        let rounded = (bits &+ half) & clear
        return isSpecial(bits) || dropsNothing ? bits : isSpecial(rounded) ? bits & clear : rounded
    }
}
