import Checkpoint
import Kernels
import LM

/// Training text as token ids: the files tokenised one after another, the last `validationFraction`
/// of the tokens held out. Training windows are a pure function of (seed, step, micro-batch, row), so
/// a resumed run sees exactly the windows an uninterrupted one would; validation uses fixed windows
/// spread evenly over the held-out tokens.
public struct TextCorpus {
    public let training: [Int32]
    public let validation: [Int32]

    public init(tokens: [Int32], validationFraction: Double = 0.1) {
        let held = Int(Double(tokens.count) * validationFraction)
        training = Array(tokens[..<(tokens.count - held)])
        validation = Array(tokens[(tokens.count - held)...])
    }

    /// Reads and tokenises `files` ("-" for standard input).
    public init(files: [String], tokenizer: Tokenizer, validationFraction: Double = 0.1) throws {
        var tokens: [Int32] = []
        for file in files { tokens += tokenizer.encode(try InputSource.open(file).readText()) }
        self.init(tokens: tokens, validationFraction: validationFraction)
    }

    /// A batch of inputs and next-token targets for training step `step`, micro-batch `micro`.
    public func trainingBatch(step: Int, micro: Int, sequences: Int, length: Int, seed: UInt64) -> (inputs: [[Int32]], targets: [[Int32]]) {
        let span = training.count - length
        precondition(span > 0, "training text shorter than one window")
        var inputs: [[Int32]] = [], targets: [[Int32]] = []
        for row in 0..<sequences {
            var key = GaussianStream.mix(seed ^ 0x5851_F42D_4C95_7F2D)
            key = GaussianStream.mix(key ^ UInt64(step))
            key = GaussianStream.mix(key ^ (UInt64(micro) << 32 | UInt64(row)))
            let start = Int(key % UInt64(span))
            inputs.append(Array(training[start..<(start + length)]))
            targets.append(Array(training[(start + 1)...(start + length)]))
        }
        return (inputs, targets)
    }

    /// `count` fixed validation windows of `length` (fewer when the held-out text is short).
    public func validationWindows(count: Int, length: Int) -> (inputs: [[Int32]], targets: [[Int32]]) {
        // Window starts 0...span keep the last target inside the text.
        let span = validation.count - length - 1
        guard span >= 0 else { return ([], []) }
        let windows = min(count, span + 1)
        let starts = (0..<windows).map { windows == 1 ? 0 : $0 * span / (windows - 1) }
        return (starts.map { Array(validation[$0..<($0 + length)]) }, starts.map { Array(validation[($0 + 1)...($0 + length)]) })
    }
}
