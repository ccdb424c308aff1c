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

/// XXH3-64 with a seed over data given in pieces: the value `Checksum.of(_:seed:)` gives for their
/// concatenation. A decoder hashes each stretch of its output right after writing it, while the bytes
/// are still in the L1 cache, instead of reading the whole chunk back afterwards.
public struct ChecksumStream: ~Copyable {
    private let state: OpaquePointer

    public init(seed: UInt64) {
        guard let state = XXH3_createState() else { fatalError("out of memory for an XXH3 state") }
        XXH3_64bits_reset_withSeed(state, seed)
        self.state = state
    }

    deinit { XXH3_freeState(state) }

    /// Hashes the next piece.
    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        xxh3_stream_update(state, bytes.baseAddress, bytes.count)
    }

    /// The hash of everything added so far.
    public func value() -> UInt64 { XXH3_64bits_digest(state) }
}
