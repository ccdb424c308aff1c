#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import Kernels

/// Quick looks at a byte plane that decide how it is coded: its histogram, whether a sample says it is
/// incompressible, whether it holds runs of zero bytes.
enum PlaneProbe {
    /// The plane's byte counts (Kernels' `ByteCounter`, through `BitFieldHistogram`).
    static func histogram(_ bytes: UnsafeBufferPointer<UInt8>) -> BitFieldHistogram {
        var histogram = BitFieldHistogram(bits: 8)
        histogram.add(UnsafeRawBufferPointer(bytes), elementBytes: 1, shift: 0)
        return histogram
    }

    /// True when a sample of a plane of at least twice `sampleBytes` bytes (`sampleBlocks` blocks spread
    /// evenly over it) says that order-0 coding could not save `minimumSaving` (with a margin for the
    /// sample's error): sign-and-mantissa planes are then stored raw without counting all of their bytes.
    /// Blocks rather than a stride, so that the sample touches a few cache lines, not all of them (the
    /// planes it is for hold independent bytes; structure such as zero runs is looked for separately).
    /// Smaller planes are always counted in full (false).
    static func looksIncompressible(_ bytes: UnsafeBufferPointer<UInt8>, minimumSaving: Double) -> Bool {
        let sampleBytes = 1 << 14, sampleBlocks = 32
        guard bytes.count >= 2 * sampleBytes else { return false }
        let blockBytes = sampleBytes / sampleBlocks, spacing = bytes.count / sampleBlocks
        let counter = ByteCounter()
        for block in 0..<sampleBlocks {
            counter.add(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[(block * spacing)..<(block * spacing + blockBytes)])))
        }
        let sample = BitFieldHistogram(counting: counter)
        // The plug-in estimate runs low by about (symbols - 1) / (2 n ln 2) bits; half a percent of margin
        // more keeps planes near the threshold for the full count.
        let perSymbol = sample.entropy + 255 / (2 * Double(sampleBytes) * log(2))
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
}
