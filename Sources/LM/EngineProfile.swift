#if canImport(Glibc)
import Glibc
#endif

/// Where a forward pass spends its time, in seconds, summed over calls: what `mstat ppl -v` and
/// `make bench` report.
public struct EngineProfile: Sendable, Equatable {
    /// Expanding stored weights (block-quantized, BF16, ...) to Float.
    public var dequantization = 0.0
    /// The products with weight matrices, output head included.
    public var matrixProducts = 0.0
    /// Scores, causal softmax and the weighted sum of values.
    public var attention = 0.0
    /// Norms, RoPE, the SwiGLU activation, embedding lookups.
    public var other = 0.0

    public init() {}

    public var total: Double { dequantization + matrixProducts + attention + other }

    /// Runs `body`, adding its wall time to the field at `part`.
    @inline(__always)
    public mutating func measure<T>(_ part: WritableKeyPath<EngineProfile, Double>, _ body: () throws -> T) rethrows -> T {
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let result = try body()
        clock_gettime(CLOCK_MONOTONIC, &end)
        self[keyPath: part] += Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
        return result
    }
}
