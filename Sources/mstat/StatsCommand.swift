import ArgumentParser
import Checkpoint
import ToolSupport

/// `mstat stats FILE`: value statistics and the exponent-entropy bound, per tensor and in total.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Per-tensor min, max, mean, std, NaN/Inf/zero counts, exponent entropy and the ideal exponent-coded size.")

    @OptionGroup var inputs: InputFiles

    func run() throws {
        try inputs.forEach { checkpoint in
            let statistics = try TensorStatistics.collect(checkpoint)
            try checkpoint.verifyUnchanged()
            return (text(checkpoint, statistics), report(checkpoint, statistics))
        }
    }

    private func idealPercent(_ s: TensorStatistics) -> Double {
        s.byteCount > 0 ? 100 * s.idealBytes / Double(s.byteCount) : 100
    }

    private func text(_ checkpoint: Checkpoint, _ statistics: [TensorStatistics]) -> String {
        var table = TextTable(header: ["tensor", "dtype", "min", "max", "mean", "std", "nan", "inf", "zero", "exp_H", "ideal%"], leftAligned: [0, 1])
        for (tensor, s) in zip(checkpoint.tensors, statistics) {
            table.append([
                tensor.name, "\(tensor.type)",
                Format.general(Double(s.values.minimum)), Format.general(Double(s.values.maximum)),
                Format.general(s.values.mean), Format.general(s.values.standardDeviation),
                String(s.values.nanCount), String(s.values.infinityCount), String(s.values.zeroCount),
                s.exponentEntropy.map { Format.fixed($0, 3) } ?? "-",
                s.exponents == nil ? "-" : Format.fixed(idealPercent(s), 2),
            ])
        }
        let total = statistics.reduce(0) { $0 + $1.byteCount }
        let ideal = statistics.reduce(0.0) { $0 + $1.idealBytes }
        let percent = total > 0 ? 100 * ideal / Double(total) : 100
        return "\(checkpoint.name):\n" + table.render()
            + "\ntotal: \(Format.grouped(total)) bytes; exponents ideally coded per tensor (sign and mantissa raw): "
            + "\(Format.grouped(Int(ideal.rounded(.up)))) bytes = \(Format.fixed(percent, 2))% of the original"
    }

    private func report(_ checkpoint: Checkpoint, _ statistics: [TensorStatistics]) -> JSONValue {
        let total = statistics.reduce(0) { $0 + $1.byteCount }
        let ideal = statistics.reduce(0.0) { $0 + $1.idealBytes }
        return .object([
            ("file", .string(checkpoint.name)),
            ("tensors", .array(zip(checkpoint.tensors, statistics).map { tensor, s in
                .object([
                    ("name", .string(tensor.name)),
                    ("dtype", .string("\(tensor.type)")),
                    ("count", JSONOutput.number(s.values.count)),
                    ("min", JSONOutput.number(Double(s.values.minimum))),
                    ("max", JSONOutput.number(Double(s.values.maximum))),
                    ("mean", JSONOutput.number(s.values.mean)),
                    ("std", JSONOutput.number(s.values.standardDeviation)),
                    ("nan", JSONOutput.number(s.values.nanCount)),
                    ("inf", JSONOutput.number(s.values.infinityCount)),
                    ("zero", JSONOutput.number(s.values.zeroCount)),
                    ("exponent_entropy_bits", s.exponentEntropy.map { JSONOutput.number($0) } ?? .null),
                    ("bytes", JSONOutput.number(s.byteCount)),
                    ("ideal_bytes", JSONOutput.number(s.idealBytes)),
                    ("ideal_percent", JSONOutput.number(idealPercent(s))),
                ])
            })),
            ("total_bytes", JSONOutput.number(total)),
            ("ideal_bytes", JSONOutput.number(ideal)),
            ("ideal_percent", JSONOutput.number(total > 0 ? 100 * ideal / Double(total) : 100)),
        ])
    }
}
