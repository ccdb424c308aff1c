#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Symbol counts of a byte plane, the input of every entropy coder's choice.
enum ByteHistogram {
    /// Adds the count of each byte value in `bytes` to `counts` (256 entries). Four sub-histograms take
    /// turns, so that a run of one value (an exponent plane is mostly a few values) does not wait on its
    /// own previous increment.
    static func count(_ bytes: UnsafeBufferPointer<UInt8>, into counts: UnsafeMutableBufferPointer<Int>) {
        let partial = UnsafeMutablePointer<UInt32>.allocate(capacity: 4 * 256)
        defer { partial.deallocate() }
        partial.initialize(repeating: 0, count: 4 * 256)
        let n = bytes.count
        var i = 0
        // UInt32 counters: flushed well before they could overflow.
        while i < n {
            let end = min(n, i + (1 << 30))
            while i + 4 <= end {
                partial[Int(bytes[i])] &+= 1
                partial[256 + Int(bytes[i + 1])] &+= 1
                partial[512 + Int(bytes[i + 2])] &+= 1
                partial[768 + Int(bytes[i + 3])] &+= 1
                i += 4
            }
            while i < end {
                partial[Int(bytes[i])] &+= 1
                i += 1
            }
            for s in 0..<256 {
                counts[s] += Int(partial[s]) + Int(partial[256 + s]) + Int(partial[512 + s]) + Int(partial[768 + s])
            }
            partial.update(repeating: 0, count: 4 * 256)
        }
    }

    /// True when a sample of every 16th byte of a large plane says that order-0 coding could not save
    /// `minimumSaving` (with a margin for the sample's error): sign-and-mantissa planes are then stored
    /// raw without counting all of their bytes. Small planes are always counted in full (false).
    static func looksIncompressible(_ bytes: UnsafeBufferPointer<UInt8>, minimumSaving: Double) -> Bool {
        let stride = 16, minimumSample = 1 << 14
        guard bytes.count / stride >= minimumSample else { return false }
        var counts = [Int](repeating: 0, count: 256)
        counts.withUnsafeMutableBufferPointer { c in
            var i = 0
            while i < bytes.count { c[Int(bytes[i])] += 1; i += stride }
        }
        let sampled = Double(counts.reduce(0, +))
        // The plug-in estimate runs low by about (symbols - 1) / (2 n ln 2) bits; half a percent of margin
        // more keeps planes near the threshold for the full count.
        let perSymbol = entropyBits(counts) / sampled + 255 / (2 * sampled * log(2))
        return perSymbol / 8 > 1 - minimumSaving + 0.005
    }

    /// True when the plane holds runs of zero bytes (an aligned 8-byte zero word, looked for every 64
    /// bytes, so runs of 72 bytes or more are always seen): something random mantissa bytes never show
    /// (chance 2^-64 a word), and what lz4 and zstd remove.
    static func hasZeroRuns(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        let raw = UnsafeRawPointer(base)
        var offset = (8 - Int(bitPattern: base) % 8) % 8
        while offset + 8 <= bytes.count {
            if raw.load(fromByteOffset: offset, as: UInt64.self) == 0 { return true }
            offset += 64
        }
        return false
    }

    /// Order-0 entropy of the whole plane in bits: the size no symbol-by-symbol coder can beat.
    static func entropyBits(_ counts: [Int]) -> Double {
        let n = Double(counts.reduce(0, +))
        return counts.reduce(0.0) { $1 == 0 ? $0 : $0 - Double($1) * log2(Double($1) / n) }
    }
}
