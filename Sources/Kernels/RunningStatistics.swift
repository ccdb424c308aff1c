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

    /// Adds `count` copies of `value` (for statistics gathered from a histogram of all values).
    public mutating func add(_ value: Float, repeated count: Int) {
        guard count > 0 else { return }
        self.count += count
        if value.isNaN { nanCount += count; return }
        if value.isInfinite { infinityCount += count; return }
        if value == 0 { zeroCount += count }
        minimum = Swift.min(minimum, value)
        maximum = Swift.max(maximum, value)
        sum += Double(value) * Double(count)
        sumOfSquares += Double(value) * Double(value) * Double(count)
    }

    /// One block: a SIMD pass that assumes every value is finite (the common case), redone by the scalar
    /// path when the block holds a NaN or an infinity.
    private mutating func addBlock(_ values: UnsafeBufferPointer<Float>) {
        let lanes = values.count / 8 * 8
        guard lanes > 0 else { return addScalar(values) }
        let raw = UnsafeRawPointer(values.baseAddress!)
        var low = raw.loadUnaligned(as: SIMD8<Float>.self), high = low
        var total = SIMD8<Float>(), squares = SIMD8<Float>()
        var zeros = SIMD8<Int32>()
        var exponentMax = SIMD8<UInt32>()
        let one = SIMD8<Int32>(repeating: 1), none = SIMD8<Int32>()
        var i = 0
        while i < lanes {
            let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            low = low.replacing(with: v, where: v .< low)
            high = high.replacing(with: v, where: v .> high)
            total += v
            squares += v * v
            zeros &+= none.replacing(with: one, where: v .== 0)
            exponentMax |= unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7F80_0000
            i += 8
        }
        // An all-ones exponent in some lane: NaN or infinity somewhere; take the careful path.
        let anyNonFinite = ((exponentMax & 0x7F80_0000) .== 0x7F80_0000)
        if anyNonFinite != .init(repeating: false) && hasNonFinite(values[0..<lanes]) {
            addScalar(UnsafeBufferPointer(rebasing: values[0..<lanes]))
        } else {
            minimum = Swift.min(minimum, low.min())
            maximum = Swift.max(maximum, high.max())
            sum += Double(total.sum())
            sumOfSquares += Double(squares.sum())
            zeroCount += Int(zeros.wrappedSum())
        }
        addScalar(UnsafeBufferPointer(rebasing: values[lanes...]))
    }

    /// OR-ing exponents cannot prove finiteness (two lanes may OR to all ones); this checks exactly, and is
    /// only reached when the OR says "maybe".
    private func hasNonFinite(_ values: Slice<UnsafeBufferPointer<Float>>) -> Bool {
        values.contains { !$0.isFinite }
    }

    private mutating func addScalar(_ values: UnsafeBufferPointer<Float>) {
        for value in values {
            if value.isNaN { nanCount += 1; continue }
            if value.isInfinite { infinityCount += 1; continue }
            if value == 0 { zeroCount += 1 }
            minimum = Swift.min(minimum, value)
            maximum = Swift.max(maximum, value)
            sum += Double(value)
            sumOfSquares += Double(value) * Double(value)
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
    /// Four interleaved tables keep consecutive equal values from serialising on one counter.
    public mutating func add(_ bytes: UnsafeRawBufferPointer, elementBytes: Int, shift: Int) {
        if bits == 8 && elementBytes == 1 && shift == 0 { return addBytes(bytes) }
        let size = counts.count
        let n = bytes.count / elementBytes
        let bitShift = UInt64(shift)
        var tables = [Int](repeating: 0, count: 4 * size)
        tables.withUnsafeMutableBufferPointer { table in
            switch elementBytes {
            case 1 where shift == 0: Self.count(n, table, size) { UInt64(bytes[$0]) }
            case 1: Self.count(n, table, size) { UInt64(bytes[$0]) &>> bitShift }
            case 2: Self.count(n, table, size) { UInt64(bytes.loadUnaligned(fromByteOffset: 2 &* $0, as: UInt16.self)) &>> bitShift }
            case 4: Self.count(n, table, size) { UInt64(bytes.loadUnaligned(fromByteOffset: 4 &* $0, as: UInt32.self)) &>> bitShift }
            default: Self.count(n, table, size) { bytes.loadUnaligned(fromByteOffset: 8 &* $0, as: UInt64.self) &>> bitShift }
            }
        }
        for value in 0..<size {
            counts[value] += tables[value] + tables[size + value] + tables[2 * size + value] + tables[3 * size + value]
        }
    }

    @inline(__always)
    private static func count(_ n: Int, _ table: UnsafeMutableBufferPointer<Int>, _ size: Int, _ field: (Int) -> UInt64) {
        let mask = UInt64(size - 1)
        let base = table.baseAddress!
        var i = 0
        while i + 4 <= n {
            base[Int(field(i) & mask)] &+= 1
            base[size &+ Int(field(i &+ 1) & mask)] &+= 1
            base[2 &* size &+ Int(field(i &+ 2) & mask)] &+= 1
            base[3 &* size &+ Int(field(i &+ 3) & mask)] &+= 1
            i &+= 4
        }
        while i < n {
            base[Int(field(i) & mask)] &+= 1
            i += 1
        }
    }

    /// Counts every byte of `bytes` (the hot case: NeuZip's byte planes) with a `ByteCounter`.
    private mutating func addBytes(_ bytes: UnsafeRawBufferPointer) {
        let counter = ByteCounter()
        // Blocks of 2^32 - 1 bytes at most, so that no counter wraps.
        var start = 0
        while start < bytes.count {
            let end = start + min(bytes.count - start, 1 << 32 - 1)
            counter.add(bytes: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            counter.drain(into: &counts)
            start = end
        }
    }

    /// The byte counts of `counter` (which is left at zero).
    public init(counting counter: borrowing ByteCounter) {
        self.init(bits: 8)
        counter.drain(into: &counts)
    }

    /// Adds `count` occurrences of field value `field`.
    public mutating func add(count: Int, field: Int) {
        counts[field] += count
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
