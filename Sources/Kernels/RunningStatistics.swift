/// Summary statistics of a stream of Float values, fed in chunks of any size: min and max of the finite
/// values, mean and standard deviation (accumulated in Double), and counts of NaN, infinite and zero values.
public struct RunningStatistics: Sendable, Equatable {
    public private(set) var count = 0
    public private(set) var nanCount = 0
    public private(set) var infinityCount = 0
    public private(set) var zeroCount = 0
    /// Smallest finite value (+inf when there is none).
    public private(set) var minimum = Float.infinity
    /// Largest finite value (-inf when there is none).
    public private(set) var maximum = -Float.infinity
    private var sum = 0.0
    private var sumOfSquares = 0.0

    public init() {}

    /// Mean of the finite values.
    public var mean: Double {
        let finite = count - nanCount - infinityCount
        return finite > 0 ? sum / Double(finite) : .nan
    }

    /// Population standard deviation of the finite values.
    public var standardDeviation: Double {
        let finite = count - nanCount - infinityCount
        guard finite > 0 else { return .nan }
        let m = sum / Double(finite)
        return max(0, sumOfSquares / Double(finite) - m * m).squareRoot()
    }

    /// Adds `values`. Sums run in blocks of Float accumulators folded into Double, which is exact enough
    /// for reporting and keeps the loop at memory speed.
    public mutating func add(_ values: UnsafeBufferPointer<Float>) {
        count += values.count
        let block = 4096
        var start = 0
        while start < values.count {
            let end = min(values.count, start + block)
            addBlock(UnsafeBufferPointer(rebasing: values[start..<end]))
            start = end
        }
    }

    private mutating func addBlock(_ values: UnsafeBufferPointer<Float>) {
        var low = SIMD8<Float>(repeating: .infinity), high = SIMD8<Float>(repeating: -.infinity)
        var total = SIMD8<Float>(), squares = SIMD8<Float>()
        var zeros = SIMD8<Int32>(), nonFinite = SIMD8<Int32>()
        let lanes = values.count / 8 * 8
        let raw = UnsafeRawPointer(values.baseAddress!)
        var i = 0
        while i < lanes {
            let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            let bits = unsafeBitCast(v, to: SIMD8<UInt32>.self)
            let finite = (bits & 0x7F80_0000) .!= 0x7F80_0000
            let clean = SIMD8<Float>(repeating: 0).replacing(with: v, where: finite)
            low = pointwiseMin(low, SIMD8<Float>(repeating: .infinity).replacing(with: v, where: finite))
            high = pointwiseMax(high, SIMD8<Float>(repeating: -.infinity).replacing(with: v, where: finite))
            total += clean
            squares += clean * clean
            zeros &+= SIMD8<Int32>(repeating: 0).replacing(with: 1, where: v .== 0)
            nonFinite &+= SIMD8<Int32>(repeating: 0).replacing(with: 1, where: .!finite)
            i += 8
        }
        minimum = Swift.min(minimum, low.min())
        maximum = Swift.max(maximum, high.max())
        sum += Double(total.sum())
        sumOfSquares += Double(squares.sum())
        zeroCount += Int(zeros.wrappedSum())
        if nonFinite.wrappedSum() > 0 { countNonFinite(UnsafeBufferPointer(rebasing: values[0..<lanes])) }
        for value in values[lanes...] {
            if value.isNaN { nanCount += 1; continue }
            if value.isInfinite { infinityCount += 1; continue }
            if value == 0 { zeroCount += 1 }
            minimum = Swift.min(minimum, value)
            maximum = Swift.max(maximum, value)
            sum += Double(value)
            sumOfSquares += Double(value) * Double(value)
        }
    }

    private mutating func countNonFinite(_ values: UnsafeBufferPointer<Float>) {
        for value in values where !value.isFinite {
            if value.isNaN { nanCount += 1 } else { infinityCount += 1 }
        }
    }
}

/// Order-0 statistics of a bit field (the exponent of a float format) over raw little-endian elements.
public struct BitFieldHistogram: Sendable {
    public let bits: Int
    public private(set) var counts: [Int]

    public init(bits: Int) {
        precondition((1...16).contains(bits))
        self.bits = bits
        counts = Array(repeating: 0, count: 1 << bits)
    }

    /// Counts the field at `shift` of every `elementBytes`-byte element of `bytes` (1, 2, 4 or 8 bytes).
    public mutating func add(_ bytes: UnsafeRawBufferPointer, elementBytes: Int, shift: Int) {
        let mask = (1 << bits) - 1
        let n = bytes.count / elementBytes
        counts.withUnsafeMutableBufferPointer { table in
            switch elementBytes {
            case 1: for i in 0..<n { table[Int(bytes[i]) >> shift & mask] += 1 }
            case 2: for i in 0..<n { table[Int(bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) >> shift & mask] += 1 }
            case 4: for i in 0..<n { table[Int(bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) >> UInt32(shift)) & mask] += 1 }
            default: for i in 0..<n { table[Int(truncatingIfNeeded: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self) >> UInt64(shift)) & mask] += 1 }
            }
        }
    }

    /// Total elements counted.
    public var total: Int { counts.reduce(0, +) }

    /// Shannon entropy in bits per element (0 for no elements).
    public var entropy: Double {
        let n = Double(total)
        guard n > 0 else { return 0 }
        return counts.reduce(0.0) { h, c in c == 0 ? h : h - Double(c) / n * log2(Double(c) / n) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
