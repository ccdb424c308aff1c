import CLZ4
import CZstd

/// General-purpose compression for chunks that are not plain floats (integer tensors, GGUF blocks,
/// headers): zstd at a level, or lz4 for speed.
public enum ByteCodec: Sendable, Equatable {
    case zstd(level: Int32)
    case lz4

    /// Compresses `input`; nil when the result would not be smaller.
    public func compress(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        guard !input.isEmpty else { return nil }
        switch self {
        case .zstd(let level):
            let bound = ZSTD_compressBound(input.count)
            var out = [UInt8](repeating: 0, count: bound)
            let written = out.withUnsafeMutableBytes { ZSTD_compress($0.baseAddress, bound, input.baseAddress, input.count, level) }
            guard ZSTD_isError(written) == 0, written < input.count else { return nil }
            out.removeLast(bound - written)
            return out
        case .lz4:
            let bound = Int(LZ4_compressBound(Int32(input.count)))
            var out = [UInt8](repeating: 0, count: bound)
            let written = out.withUnsafeMutableBytes { raw in
                LZ4_compress_default(input.baseAddress!.assumingMemoryBound(to: CChar.self), raw.baseAddress!.assumingMemoryBound(to: CChar.self),
                                     Int32(input.count), Int32(bound))
            }
            guard written > 0, Int(written) < input.count else { return nil }
            out.removeLast(bound - Int(written))
            return out
        }
    }

    /// Decompresses exactly `output.count` bytes.
    public func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        switch self {
        case .zstd:
            let got = ZSTD_decompress(output.baseAddress, output.count, input.baseAddress, input.count)
            guard ZSTD_isError(got) == 0, got == output.count else { throw CodecError("zstd data is corrupt") }
        case .lz4:
            guard output.count > 0 else { return }
            let got = LZ4_decompress_safe(input.baseAddress?.assumingMemoryBound(to: CChar.self), output.baseAddress!.assumingMemoryBound(to: CChar.self),
                                          Int32(input.count), Int32(output.count))
            guard got == Int32(output.count) else { throw CodecError("lz4 data is corrupt") }
        }
    }
}
