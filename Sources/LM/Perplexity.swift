import Kernels
#if canImport(Glibc)
import Glibc
#endif

/// Perplexity the way llama.cpp's `llama-perplexity` measures it: the tokens are cut into
/// non-overlapping windows of `context` tokens (BOS first in each window when the model adds one), and
/// only the second half of each window is scored, each token predicted from everything before it.
public struct Perplexity: Sendable {
    /// Mean negative log-likelihood so far, and its standard error, over all scored tokens.
    public private(set) var scored = 0
    private var sum = 0.0
    private var sumOfSquares = 0.0

    public init() {}

    /// The perplexity estimate.
    public var value: Double { scored > 0 ? exp(sum / Double(scored)) : .nan }

    /// Its uncertainty, as llama.cpp prints it (delta method on the mean NLL).
    public var uncertainty: Double {
        guard scored > 1 else { return .nan }
        let mean = sum / Double(scored)
        let variance = max(0, sumOfSquares / Double(scored) - mean * mean)
        return value * (variance / Double(scored - 1)).squareRoot()
    }

    /// The first position of a window of `count` tokens whose prediction is scored (the second half).
    public static func firstScored(count: Int) -> Int { count / 2 }

    /// Scores one window: `logits` holds the rows of positions firstScored..<count ([rows x vocab]);
    /// each of those positions but the last predicts the next token.
    public mutating func add(window tokens: [Int32], logits: UnsafeBufferPointer<Float>, vocab: Int) {
        let first = Self.firstScored(count: tokens.count)
        // One scratch row for the exponentials, reused for every position.
        var exponentials = [Float](repeating: 0, count: vocab)
        for position in first..<(tokens.count - 1) {
            let row = (position - first) * vocab
            var peak = -Float.infinity
            for j in 0..<vocab { peak = max(peak, logits[row + j]) }
            let total = exponentials.withUnsafeMutableBufferPointer { scratch in
                _ = scratch.update(fromContentsOf: logits[row..<(row + vocab)])
                return VectorMath.exponentiate(scratch.baseAddress!, count: vocab, shift: peak)
            }
            let target = Int(tokens[position + 1])
            let nll = -(Double(logits[row + target] - peak) - log(total))
            sum += nll
            sumOfSquares += nll * nll
            scored += 1
        }
    }

    /// The windows of `tokens` for a context of `context` tokens: whole windows only, as llama.cpp does.
    public static func windows(_ tokens: [Int32], context: Int, bos: Int32?) -> [[Int32]] {
        stride(from: 0, to: tokens.count - context + 1, by: context).map { start in
            var window = Array(tokens[start..<(start + context)])
            if let bos { window[0] = bos }
            return window
        }
    }
}
