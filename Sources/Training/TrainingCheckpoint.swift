import Checkpoint
import LM
import Optimizers

/// What training writes: the model as safetensors with its configuration and tokenizer in
/// `__metadata__` (so every tool can load it), and, for `--save-every`/`--resume`, the same file with
/// the optimizer's state (tensors named `optimizer.*`), the accumulator's seeds and the step count
/// added, from which a run continues bit for bit.
public enum TrainingCheckpoint {
    public static let stepKey = "training.step", optimizerKey = "training.optimizer", runKey = "training.run"

    /// The metadata that makes a language model loadable: configuration and tokenizer.
    public static func languageModelMetadata(_ model: TrainableModel, tokenizer: Tokenizer) -> [(key: String, value: String)] {
        ModelFiles.metadata(config: model.config, tied: model.tiedOutput, tokenizer: tokenizer)
    }

    /// Writes the model's `weights` with `metadata` and notes on the run (and, with `optimizer`, the
    /// training state) to `sink`.
    public static func write(_ weights: ParameterStore, metadata modelMetadata: [(key: String, value: String)], run: String, step: Int,
                             optimizer: (name: String, optimizer: Optimizer, accumulator: GradientAccumulator?)?,
                             to sink: ByteSink, name: String) throws {
        var metadata = modelMetadata
        metadata += [(runKey, run), (stepKey, String(step))]
        var extra: [FloatTensor] = []
        if let optimizer {
            let state = optimizer.optimizer.saveState()
            extra = state.tensors.map { FloatTensor(name: "optimizer." + $0.name, shape: $0.shape, values: $0.values) }
            var values = state.values
            for (key, value) in optimizer.accumulator?.seedValues ?? [:] { values[key] = value }
            metadata.append((optimizerKey, optimizer.name))
            metadata += values.sorted { $0.key < $1.key }.map { ("optimizer." + $0.key, $0.value) }
        }
        // The weights are expanded one at a time as they are written: a compressed model is never held
        // expanded as a whole.
        let layout = (0..<weights.count).map { (weights.names[$0], weights.shapes[$0]) } + extra.map { ($0.name, $0.shape) }
        try FloatTensor.writeSafetensors(layout: layout, metadata: metadata, to: sink, name: name) { i, consume in
            if i < weights.count {
                try weights.withValues([i]) { try consume(UnsafeBufferPointer(start: $0[0], count: weights.elementCount(i))) }
            } else {
                try extra[i - weights.count].values.withUnsafeBufferPointer { try consume($0) }
            }
        }
    }

    /// A training state read back: the step reached, the optimizer's state, and accumulator seeds.
    public struct Resumed {
        public let step: Int
        public let optimizerName: String
        public let optimizerState: OptimizerState
        public let run: String
    }

    /// Reads the training state of a checkpoint written with an optimizer.
    public static func read(_ checkpoint: Checkpoint) throws -> Resumed {
        func value(_ key: String) -> String? { checkpoint.metadata.first { $0.key == key }?.value.stringValue }
        guard let stepText = value(stepKey), let step = Int(stepText), let optimizerName = value(optimizerKey) else {
            throw CheckpointError(file: checkpoint.name, "is not a training state (no \(stepKey) and \(optimizerKey) in __metadata__; write one with --save-every)")
        }
        var state = OptimizerState()
        for (key, stored) in checkpoint.metadata where key.hasPrefix("optimizer.") {
            state.values[String(key.dropFirst("optimizer.".count))] = stored.stringValue
        }
        for (index, tensor) in checkpoint.tensors.enumerated() where tensor.name.hasPrefix("optimizer.") {
            state.tensors.append(FloatTensor(name: String(tensor.name.dropFirst("optimizer.".count)), shape: tensor.shape,
                                             values: try checkpoint.floats(of: index)))
        }
        return Resumed(step: step, optimizerName: optimizerName, optimizerState: state, run: value(runKey) ?? "")
    }
}
