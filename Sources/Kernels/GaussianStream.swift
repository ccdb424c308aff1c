#if canImport(Glibc)
import Glibc
#endif

/// A deterministic stream of standard normal Floats from a 64-bit seed (SplitMix64 bits, Box-Muller
/// pairs): the same seed gives the same numbers on every machine and run, which is what lets random
/// projections be regenerated from their seed instead of being stored.
public struct GaussianStream: Sendable {
    private var state: UInt64
    private var spare: Float?

    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func nextBits() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The next standard normal value.
    public mutating func next() -> Float {
        if let spare {
            self.spare = nil
            return spare
        }
        // Two uniforms in (0, 1]: 53-bit fractions, shifted away from 0 so the logarithm is finite.
        let u1 = (Double(nextBits() >> 11) + 1) / 9_007_199_254_740_992
        let u2 = Double(nextBits() >> 11) / 9_007_199_254_740_992
        let radius = (-2 * log(u1)).squareRoot()
        spare = Float(radius * sin(2 * Double.pi * u2))
        return Float(radius * cos(2 * Double.pi * u2))
    }

    /// SplitMix64's finaliser: a bijective scramble of 64 bits, also used to derive new seeds.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
