/// Exact conversions between `Float` and the narrow floating-point formats that checkpoints store:
/// bfloat16, IEEE half, and the two 8-bit formats (E4M3 "fn", E5M2). Every narrowing conversion rounds to
/// nearest, ties to even, as PyTorch and ml_dtypes do.
public enum NarrowFloat {
    /// bfloat16 bits to Float: exact (bfloat16 is the top half of a Float).
    @inlinable public static func bfloat16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Float to bfloat16 bits, round to nearest even; NaN stays NaN (quiet) with its sign.
    @inlinable public static func floatToBFloat16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let rounding: UInt32 = 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    /// IEEE half bits to Float: exact.
    @inlinable public static func halfToFloat(_ bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// Float to IEEE half bits, round to nearest even, overflow to infinity.
    @inlinable public static func floatToHalf(_ value: Float) -> UInt16 {
        Float16(value).bitPattern
    }
}

/// An 8-bit floating-point format: sign, `exponentBits`, `mantissaBits`.
public struct Float8Format: Sendable, Equatable {
    public let exponentBits: Int
    public let mantissaBits: Int
    /// E4M3 "fn" has no infinities: only S.1111.111 is NaN and the largest value is 448.
    public let hasInfinity: Bool

    /// OCP/PyTorch float8_e4m3fn.
    public static let e4m3fn = Float8Format(exponentBits: 4, mantissaBits: 3, hasInfinity: false)
    /// OCP/PyTorch float8_e5m2 (IEEE-like, with infinities).
    public static let e5m2 = Float8Format(exponentBits: 5, mantissaBits: 2, hasInfinity: true)

    var bias: Int { (1 << (exponentBits - 1)) - 1 }
    var maxExponentField: Int { (1 << exponentBits) - 1 }
    var nanBits: UInt8 { hasInfinity ? 0x7E : 0x7F }
    var infinityBits: UInt8 { UInt8(maxExponentField << mantissaBits) }

    /// The largest finite magnitude.
    public var largestFinite: Float {
        let topField = hasInfinity ? maxExponentField - 1 : maxExponentField
        let topMantissa = hasInfinity ? (1 << mantissaBits) - 1 : (1 << mantissaBits) - 2
        return Float(sign: .plus, exponent: topField - bias, significand: 1 + Float(topMantissa) / Float(1 << mantissaBits))
    }

    /// Decodes one value: exact.
    public func decode(_ bits: UInt8) -> Float {
        let negative = bits & 0x80 != 0
        let field = Int(bits >> mantissaBits) & maxExponentField
        let mantissa = Int(bits) & ((1 << mantissaBits) - 1)
        let magnitude: Float
        if field == maxExponentField && hasInfinity {
            magnitude = mantissa == 0 ? .infinity : .nan
        } else if field == maxExponentField && mantissa == (1 << mantissaBits) - 1 {
            magnitude = .nan
        } else if field == 0 {
            magnitude = Float(mantissa) * Float(sign: .plus, exponent: 1 - bias - mantissaBits, significand: 1)
        } else {
            magnitude = Float(sign: .plus, exponent: field - bias, significand: 1 + Float(mantissa) / Float(1 << mantissaBits))
        }
        return negative ? -magnitude : magnitude
    }

    /// Encodes one value, round to nearest even. Values that round past the largest finite value become
    /// infinity (E5M2) or NaN (E4M3fn), as PyTorch's casts do.
    public func encode(_ value: Float) -> UInt8 {
        let signBit: UInt8 = value.sign == .minus ? 0x80 : 0
        if value.isNaN { return signBit | nanBits }
        let magnitude = value.magnitude
        if magnitude == 0 { return signBit }
        if magnitude.isInfinite { return signBit | (hasInfinity ? infinityBits : nanBits) }
        let minNormalExponent = 1 - bias
        let exponent = max(Int(magnitude.exponent), minNormalExponent)
        let quantumExponent = exponent - mantissaBits
        // Scaling by a power of two is exact, so this rounds the value itself.
        let steps = (magnitude * Float(sign: .plus, exponent: -quantumExponent, significand: 1)).rounded(.toNearestOrEven)
        let rounded = steps * Float(sign: .plus, exponent: quantumExponent, significand: 1)
        if rounded > largestFinite { return signBit | (hasInfinity ? infinityBits : nanBits) }
        if Int(rounded.exponent) < minNormalExponent || rounded == 0 {
            return signBit | UInt8(Int(steps))
        }
        let roundedExponent = Int(rounded.exponent)
        let mantissa = Int(rounded * Float(sign: .plus, exponent: mantissaBits - roundedExponent, significand: 1)) - (1 << mantissaBits)
        return signBit | UInt8((roundedExponent + bias) << mantissaBits | mantissa)
    }
}
