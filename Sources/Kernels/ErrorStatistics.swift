#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How far a tensor B is from a reference A, accumulated over chunks: max absolute error, RMSE, relative
/// error ||A-B|| / ||A||, signal-to-quantisation-noise ratio in dB, and cosine similarity.
public struct ErrorStatistics: Sendable {
    public private(set) var count = 0
    public private(set) var maxAbsoluteError: Float = 0
    private var errorSquares = 0.0
    private var referenceSquares = 0.0
    private var otherSquares = 0.0
    private var dot = 0.0
    /// Positions where exactly one side is NaN, or the two sides are different infinities.
    public private(set) var nonFiniteMismatches = 0

    public init() {}

    /// Adds matching chunks of the reference `a` and the other tensor `b`.
    public mutating func add(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) {
        precondition(a.count == b.count)
        count += a.count
        var e = 0.0, sa = 0.0, sb = 0.0, ab = 0.0
        var worst: Float = 0
        for i in 0..<a.count {
            let x = a[i], y = b[i]
            guard x.isFinite && y.isFinite else {
                if !(x.isNaN && y.isNaN) && x != y { nonFiniteMismatches += 1 }
                continue
            }
            let d = Double(x) - Double(y)
            e += d * d
            sa += Double(x) * Double(x)
            sb += Double(y) * Double(y)
            ab += Double(x) * Double(y)
            worst = max(worst, abs(x - y))
        }
        errorSquares += e
        referenceSquares += sa
        otherSquares += sb
        dot += ab
        maxAbsoluteError = max(maxAbsoluteError, worst)
    }

    /// Merges statistics of another part of the data.
    public mutating func merge(_ other: ErrorStatistics) {
        count += other.count
        maxAbsoluteError = max(maxAbsoluteError, other.maxAbsoluteError)
        errorSquares += other.errorSquares
        referenceSquares += other.referenceSquares
        otherSquares += other.otherSquares
        dot += other.dot
        nonFiniteMismatches += other.nonFiniteMismatches
    }

    /// Root mean squared error.
    public var rootMeanSquaredError: Double { count > 0 ? (errorSquares / Double(count)).squareRoot() : 0 }
    /// ||A - B|| / ||A|| (0 when both are zero, infinity when only A is).
    public var relativeError: Double {
        referenceSquares > 0 ? (errorSquares / referenceSquares).squareRoot() : (errorSquares == 0 ? 0 : .infinity)
    }
    /// 10 log10(||A||^2 / ||A - B||^2); infinity for identical tensors.
    public var signalToNoiseDecibels: Double {
        errorSquares == 0 ? .infinity : 10 * log10(referenceSquares / errorSquares)
    }
    /// A.B / (|A| |B|); 1 when both are zero.
    public var cosineSimilarity: Double {
        let norms = (referenceSquares * otherSquares).squareRoot()
        if norms == 0 { return referenceSquares == otherSquares ? 1 : 0 }
        return dot / norms
    }
}
