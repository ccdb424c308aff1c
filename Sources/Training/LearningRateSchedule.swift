#if canImport(Glibc)
import Glibc
#endif

/// Learning rate per step: linear warmup over `warmup` steps, then constant or a cosine decay to 10%
/// of the peak at the last step.
public struct LearningRateSchedule: Sendable {
    public enum Shape: String, Sendable, CaseIterable {
        case constant, cosine
    }

    public let peak: Float, warmup: Int, total: Int, shape: Shape

    public init(peak: Float, warmup: Int, total: Int, shape: Shape) {
        self.peak = peak
        self.warmup = warmup
        self.total = total
        self.shape = shape
    }

    /// The rate for step `step` (0-based).
    public func rate(at step: Int) -> Float {
        if step < warmup { return peak * Float(step + 1) / Float(warmup) }
        guard shape == .cosine, total > warmup else { return peak }
        let progress = Float(step - warmup) / Float(max(1, total - warmup - 1))
        return peak * (0.1 + 0.9 * 0.5 * (1 + cos(Float.pi * min(1, progress))))
    }
}
