import Checkpoint
#if canImport(Glibc)
import Glibc
#endif

/// One line of training metrics.
public struct StepMetrics {
    public var step: Int
    public var loss: Double
    public var validationLoss: Double?
    /// Held-out accuracy, for classifiers.
    public var validationAccuracy: Double?
    public var learningRate: Float
    public var tokensPerSecond: Double
    public var optimizerStateBytes: Int
    /// Bytes the weights occupy in memory (their compressed size with NeuZip-compressed weights).
    public var weightBytes: Int
    public var peakRSSBytes: Int
    public var seconds: Double

    public init(step: Int, loss: Double, validationLoss: Double?, learningRate: Float, tokensPerSecond: Double,
                optimizerStateBytes: Int, weightBytes: Int, peakRSSBytes: Int, seconds: Double) {
        self.step = step
        self.loss = loss
        self.validationLoss = validationLoss
        self.learningRate = learningRate
        self.tokensPerSecond = tokensPerSecond
        self.optimizerStateBytes = optimizerStateBytes
        self.weightBytes = weightBytes
        self.peakRSSBytes = peakRSSBytes
        self.seconds = seconds
    }

    /// The JSON line: step, loss, val_loss and val_accuracy (when measured), lr, tokens_per_s, optimizer_state_bytes,
    /// weight_bytes, peak_rss, seconds.
    public var jsonLine: String {
        func number(_ value: Double) -> JSONValue { value.isFinite ? .number("\(value)") : .null }
        var members: [(key: String, value: JSONValue)] = [("step", .number(String(step))), ("loss", number(loss))]
        if let validationLoss { members.append(("val_loss", number(validationLoss))) }
        if let validationAccuracy { members.append(("val_accuracy", number(validationAccuracy))) }
        members += [("lr", number(Double(learningRate))), ("tokens_per_s", number((tokensPerSecond * 10).rounded() / 10)),
                    ("optimizer_state_bytes", .number(String(optimizerStateBytes))),
                    ("weight_bytes", .number(String(weightBytes))), ("peak_rss", .number(String(peakRSSBytes))),
                    ("seconds", number((seconds * 1000).rounded() / 1000))]
        return JSONWriter.string(.object(members))
    }

    /// The TSV row (step, loss, val_loss or NaN, seconds) that gnuplot draws.
    public var tsvLine: String {
        "\(step)\t\(loss)\t\(validationLoss.map { "\($0)" } ?? "NaN")\t\((seconds * 1000).rounded() / 1000)"
    }

    public static let tsvHeader = "# step\tloss\tval_loss\tseconds"
}
