import CXXHash

/// The checksum of every .nz chunk: XXH3, 64 bits, from Debian's libxxhash (its vector code for this CPU).
public enum Checksum {
    public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        xxh3_64_fastest(bytes.baseAddress, bytes.count)
    }

    public static func of(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { of($0) }
    }

    /// XXH3-64 with a seed: binds the checksum of some data to the context it belongs to.
    public static func of(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        xxh3_64_fastest_seeded(bytes.baseAddress, bytes.count, seed)
    }

    public static func of(_ bytes: [UInt8], seed: UInt64) -> UInt64 {
        bytes.withUnsafeBytes { of($0, seed: seed) }
    }
}
