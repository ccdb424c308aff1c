import Checkpoint
import Kernels
import LM

/// The quantizer that decides each block's codes before any search.
public enum BaseQuantizer: String, Sendable, CaseIterable {
    /// Round to nearest after a weighted scale search, no data needed.
    case rtn
    /// GPTQ with Hessians from the calibration activations.
    case gptq
}

/// A whole model quantized to one target: the full-precision weights (kept for the search, which
/// rebuilds blocks from them), each matrix's quantized form, and the model the quantized weights make.
/// Tensors are in `TrainableModel`'s order with Hugging Face names and rotate-half Q/K rows.
public final class ModelQuantizer {
    public let config: LlamaConfig
    public let tied: Bool
    public let target: QuantizationTarget
    public let base: BaseQuantizer
    public let gptq: GPTQ
    /// Full-precision weights.
    public let original: [FloatTensor]
    /// Per tensor, its quantized form; nil for tensors kept in floats.
    public private(set) var quantized: [QuantizedMatrix?]
    let statistics: [BlockStatistics]?

    /// Quantizes every matrix the target covers; `statistics` (the calibration pass) is required by GPTQ.
    public init(config: LlamaConfig, tensors: [FloatTensor], target: QuantizationTarget, base: BaseQuantizer,
                gptq: GPTQ = GPTQ(), statistics: [BlockStatistics]?, progress: (Int, Int) -> Void = { _, _ in }) {
        precondition(base == .rtn || statistics != nil, "GPTQ needs calibration statistics")
        self.config = config
        tied = tensors.count == TrainableModel.canonicalNames(config, tied: true).count
        self.target = target
        self.base = base
        self.gptq = gptq
        original = tensors
        self.statistics = statistics
        quantized = [QuantizedMatrix?](repeating: nil, count: tensors.count)
        for index in tensors.indices {
            quantized[index] = format(of: index).map { quantize(index, tensors[index].values, format: $0, hessian: hessian(of: index)) }
            progress(index + 1, tensors.count)
        }
    }

    /// Whether tensor `index` is the output head (the embedding when tied).
    func isOutputHead(_ index: Int) -> Bool { tied ? index == 0 : index == original.count - 1 }

    /// The block format tensor `index` gets, nil when it stays in floats.
    public func format(of index: Int) -> BlockFormat? {
        target.format(for: original[index].name, shape: original[index].shape, isOutputHead: isOutputHead(index))
    }

    /// The layer and weight kind of tensor `index`, nil outside the blocks.
    func blockWeight(_ index: Int) -> (layer: Int, weight: LlamaTensorNames.LayerWeight)? {
        let kinds = LlamaTensorNames.LayerWeight.allCases
        guard index >= 1, index < 1 + config.layers * kinds.count else { return nil }
        return ((index - 1) / kinds.count, kinds[(index - 1) % kinds.count])
    }

    private func hessian(of index: Int) -> [Float]? {
        guard base == .gptq, let (layer, weight) = blockWeight(index) else { return nil }
        return statistics?[layer].hessian(of: weight)
    }

    /// Quantizes `values` (tensor `index`'s shape) with the base quantizer; GPTQ where a Hessian exists.
    func quantize(_ index: Int, _ values: [Float], format: BlockFormat, hessian: [Float]?) -> QuantizedMatrix {
        let shape = original[index].shape
        if let hessian { return gptq.quantize(values, rows: shape[0], columns: shape[1], hessian: hessian, format: format) }
        return RoundToNearest.quantize(values, rows: shape[0], columns: shape[1], format: format)
    }

    /// The float type a tensor kept in floats is written in: F16 beside GPTQ layers (as those
    /// checkpoints do), F32 in GGUF (llama.cpp keeps norms in F32) unless the fallback chose F16.
    public func keptType(of index: Int) -> TensorType {
        switch target {
        case .groups: return .f16
        case .gguf: return target.ggufType(shape: original[index].shape, isOutputHead: isOutputHead(index))
        }
    }

    /// The weights as a reader of the output sees them: dequantized matrices, kept tensors rounded to
    /// their stored float type.
    public func evaluationTensors() -> [FloatTensor] {
        original.indices.map { index in
            var tensor = original[index]
            if let matrix = quantized[index] {
                tensor.values = matrix.dequantized()
            } else if keptType(of: index) == .f16 {
                tensor.values = tensor.values.map { NarrowFloat.halfToFloat(NarrowFloat.floatToHalf($0)) }
            }
            return tensor
        }
    }

    /// Replaces tensor `index`'s quantized form (the search's accepted moves).
    func replace(_ index: Int, with matrix: QuantizedMatrix) { quantized[index] = matrix }
}
