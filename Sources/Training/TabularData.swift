import Checkpoint
import Kernels

/// A classification data set from a CSV file: numeric feature columns and one label column (any text;
/// classes are its distinct values in sorted order). Rows are shuffled by the seed and the last
/// `heldOutFraction` held out; features are standardised with the training rows' mean and deviation.
public struct TabularData: BatchSource {
    public let featureNames: [String]
    public let classes: [String]
    public let training: MLPClassifier.Batch
    public let heldOut: MLPClassifier.Batch
    /// Per feature: mean and standard deviation used to standardise (kept with the model).
    public let mean: [Float], deviation: [Float]
    public let batchSize: Int, seed: UInt64

    public var featureCount: Int { featureNames.count }

    /// Reads `path`; `label` names the label column (its header or 0-based index; default the last).
    public init(path: String, label: String?, batchSize: Int, seed: UInt64, heldOutFraction: Double = 0.2) throws {
        let text = try InputSource.open(path).readText()
        var lines = text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters() } }
        lines.removeAll { $0.count == 1 && $0[0].isEmpty }
        guard let first = lines.first, first.count >= 2 else { throw CheckpointError(file: path, "needs at least two columns") }
        // A header: the first line has more non-numeric fields than the second (text labels are allowed).
        func textFields(_ line: [String]) -> Int { line.filter { Float($0) == nil }.count }
        let hasHeader = lines.count > 1 && textFields(first) > textFields(lines[1])
        let header = hasHeader ? first : (0..<first.count).map { "column \($0)" }
        let rows = hasHeader ? Array(lines.dropFirst()) : lines
        let labelColumn: Int
        if let label {
            guard let index = header.firstIndex(of: label) ?? Int(label).flatMap({ (0..<header.count).contains($0) ? $0 : nil }) else {
                throw CheckpointError(file: path, "no column '\(label)' (columns: \(header.joined(separator: ", ")))")
            }
            labelColumn = index
        } else {
            labelColumn = header.count - 1
        }
        var features: [[Float]] = [], labels: [String] = []
        for (number, row) in rows.enumerated() {
            let line = number + (hasHeader ? 2 : 1)
            guard row.count == header.count else { throw CheckpointError(file: path, "line \(line): \(row.count) columns, expected \(header.count)") }
            var values: [Float] = []
            for (column, field) in row.enumerated() where column != labelColumn {
                guard let value = Float(field), value.isFinite else {
                    throw CheckpointError(file: path, "line \(line): column '\(header[column])' is not a number: '\(field)'")
                }
                values.append(value)
            }
            features.append(values)
            labels.append(row[labelColumn])
        }
        guard features.count >= 10 else { throw CheckpointError(file: path, "\(features.count) rows: too few to train and hold out") }
        let numeric = labels.allSatisfy { Double($0) != nil }
        classes = Array(Set(labels)).sorted { numeric ? Double($0)! < Double($1)! : $0 < $1 }
        guard classes.count >= 2 else { throw CheckpointError(file: path, "the label column '\(header[labelColumn])' has one class") }
        featureNames = header.enumerated().filter { $0.offset != labelColumn }.map(\.element)
        // Seeded shuffle (Fisher-Yates), then the split.
        var order = Array(features.indices)
        var stream = GaussianStream(seed: seed ^ 0x7AB1E)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(stream.nextBits() % UInt64(i + 1))) }
        let held = max(1, Int(Double(order.count) * heldOutFraction))
        let trainRows = Array(order[..<(order.count - held)]), heldRows = Array(order[(order.count - held)...])
        let f = featureNames.count
        var mean = [Float](repeating: 0, count: f), deviation = [Float](repeating: 0, count: f)
        for r in trainRows { for j in 0..<f { mean[j] += features[r][j] / Float(trainRows.count) } }
        for r in trainRows { for j in 0..<f { deviation[j] += (features[r][j] - mean[j]) * (features[r][j] - mean[j]) / Float(trainRows.count) } }
        deviation = deviation.map { $0 > 0 ? $0.squareRoot() : 1 }
        let classIndex = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($0.element, Int32($0.offset)) })
        func batch(_ rows: [Int]) -> MLPClassifier.Batch {
            MLPClassifier.Batch(features: rows.flatMap { r in (0..<f).map { (features[r][$0] - mean[$0]) / deviation[$0] } },
                                labels: rows.map { classIndex[labels[$0]]! })
        }
        training = batch(trainRows)
        heldOut = batch(heldRows)
        self.mean = mean
        self.deviation = deviation
        self.batchSize = batchSize
        self.seed = seed
    }

    /// `batchSize` training rows drawn (with replacement) from the seed, step and micro-batch.
    public func trainingBatch(step: Int, micro: Int) -> MLPClassifier.Batch {
        let f = featureCount, n = training.rows
        var key = GaussianStream.mix(seed ^ 0xBA7C4)
        key = GaussianStream.mix(key ^ (UInt64(step) << 8 | UInt64(micro)))
        var stream = GaussianStream(seed: key)
        let rows = (0..<batchSize).map { _ in Int(stream.nextBits() % UInt64(n)) }
        return MLPClassifier.Batch(features: rows.flatMap { training.features[($0 * f)..<(($0 + 1) * f)] }, labels: rows.map { training.labels[$0] })
    }

    public func validationBatches() -> [MLPClassifier.Batch] { [heldOut] }
}

private extension Substring {
    func trimmingCharacters() -> String {
        String(drop { $0 == " " || $0 == "\"" || $0 == "\r" }.reversed().drop { $0 == " " || $0 == "\"" || $0 == "\r" }.reversed())
    }
}
