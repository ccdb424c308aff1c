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
        let dropped = UInt32(mantissaBits - keptBits)
        guard dropped > 0 else { return bits }
        let exponent = (bits >> UInt32(mantissaBits)) & exponentMask
        if exponent == exponentMask { return bits }
        let clear = ~((UInt32(1) << dropped) - 1)
        let rounded = (bits &+ (UInt32(1) << (dropped - 1))) & clear
        if (rounded >> UInt32(mantissaBits)) & exponentMask == exponentMask { return bits & clear }
        return rounded
    }
}
