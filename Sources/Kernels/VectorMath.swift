/// Elementwise math over Float buffers, eight lanes at a time: the exponential behind softmax, SiLU and
/// cross-entropy, where a libm call per value cost a fifth of a training step. exp uses Cephes' expf
/// scheme (range reduction by ln 2 split in two parts, a degree-6 polynomial, the power of two built
/// in the exponent bits): within 2 ulp of libm on [-87.3, 88.3]; arguments below give about 1e-38
/// instead of a subnormal or 0, arguments above give exp(88.3) (about 2e38) instead of up to 3.4e38
/// or infinity.
public enum VectorMath {
    @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let clamped = pointwiseMin(pointwiseMax(x, SIMD8(repeating: -87.3)), SIMD8(repeating: 88.3))
        // Round x / ln 2 to the nearest integer n by adding 1.5 * 2^23: the sum's low mantissa bits are n.
        let shifter = SIMD8<Float>(repeating: 12_582_912)
        let shifted = clamped * 1.442_695_04 + shifter
        let n = shifted - shifter
        let r = clamped - n * 0.693_359_375 + n * 2.121_944_40e-4
        var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let e = p * r * r + r + 1
        let exponent = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return e * unsafeBitCast(exponent, to: SIMD8<Float>.self)
    }

    /// x[i] = exp(x[i] - shift) for i < count; returns the sum (in Double, per lane group).
    public static func exponentiate(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Double {
        var sum = 0.0
        var i = 0
        var lanes = SIMD8<Float>()
        while i + 8 <= count {
            let value = exp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - shift)
            UnsafeMutableRawPointer(x + i).storeBytes(of: value, as: SIMD8<Float>.self)
            lanes += value
            i += 8
            if i % 1024 == 0 {
                sum += Double(lanes.sum())
                lanes = SIMD8()
            }
        }
        sum += Double(lanes.sum())
        if i < count {
            var tail = SIMD8<Float>(repeating: -.infinity)
            for k in 0..<(count - i) { tail[k] = x[i + k] - shift }
            let value = exp(tail)
            for k in 0..<(count - i) {
                x[i + k] = value[k]
                sum += Double(value[k])
            }
        }
        return sum
    }

    /// The logistic sigmoid 1 / (1 + exp(-x)) of eight values.
    @inline(__always)
    public static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> {
        1 / (1 + exp(-x))
    }

    /// Applies `body` to `count` elements in groups of eight: full groups loaded straight from the
    /// pointers, the tail padded with zeros (its extra lanes are discarded).
    @inline(__always)
    public static func forEachGroup(_ count: Int, _ body: (_ index: Int, _ lanes: Int) -> Void) {
        var i = 0
        while i < count {
            body(i, min(8, count - i))
            i += 8
        }
    }

    /// Loads `lanes` values at `p` (zeros beyond).
    @inline(__always)
    public static func load(_ p: UnsafePointer<Float>, _ lanes: Int) -> SIMD8<Float> {
        if lanes == 8 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
        var v = SIMD8<Float>()
        for k in 0..<lanes { v[k] = p[k] }
        return v
    }

    /// Stores the first `lanes` values of `v` at `p`.
    @inline(__always)
    public static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ lanes: Int) {
        if lanes == 8 { return UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self) }
        for k in 0..<lanes { p[k] = v[k] }
    }
}
