import CMalloc

/// Process-wide allocator settings for tools that stream chunk buffers of a few MiB.
public enum AllocatorTuning {
    /// glibc hands blocks above 128 KiB straight back to the kernel when they are freed, so every chunk
    /// buffer of a streaming pass pays fresh page faults (measured: a third of NeuZip's decoding time,
    /// and worse with two threads). Keeping blocks up to 32 MiB (glibc's maximum) in the heap lets them be
    /// reused. Memory stays bounded by the chunks in flight.
    public static func keepChunkBuffers() {
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
    }
}
