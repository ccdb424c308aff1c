import Checkpoint

/// What every optimizer of the toolchain does, so that one training driver runs them all: per step,
/// `update` is called once for each tensor (in order) with its accumulated gradient, then `endStep`.
/// State can be saved into a checkpoint and restored so that a resumed run continues bit for bit.
public protocol Optimizer: AnyObject {
    /// Updates tensor `index` in place from `gradient` (which the optimizer may overwrite).
    func update(_ index: Int, weights: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<Float>, learningRate: Float)
    /// Ends the step: counters advance.
    func endStep()
    /// Steps taken so far.
    var steps: Int { get }
    /// Bytes of optimizer state (moments, factors, projections; seeds and counters included).
    var stateBytes: Int { get }
    /// Everything needed to continue exactly: tensors by name, and small values as text.
    func saveState() -> OptimizerState
    func restoreState(_ state: OptimizerState) throws
}

/// An optimizer's state as it goes into a training checkpoint.
public struct OptimizerState {
    public var tensors: [FloatTensor]
    public var values: [String: String]

    public init(tensors: [FloatTensor] = [], values: [String: String] = [:]) {
        self.tensors = tensors
        self.values = values
    }

    /// The tensor named `name` with exactly `count` values, or an error naming what is wrong.
    public func tensor(_ name: String, count: Int) throws -> [Float] {
        guard let tensor = tensors.first(where: { $0.name == name }) else { throw OptimizerStateError("optimizer state tensor \(name) is missing") }
        guard tensor.values.count == count else { throw OptimizerStateError("optimizer state tensor \(name) has \(tensor.values.count) values, expected \(count)") }
        return tensor.values
    }

    /// The integer value named `name`.
    public func integer<I: FixedWidthInteger>(_ name: String, as type: I.Type = Int.self) throws -> I {
        guard let text = values[name], let value = I(text) else { throw OptimizerStateError("optimizer state value \(name) is missing or invalid") }
        return value
    }
}

/// A saved optimizer state that does not fit the optimizer restoring it.
public struct OptimizerStateError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Shape facts the optimizers decide by.
public enum TensorShapes {
    /// Rows and columns of a 2-D shape, nil otherwise.
    public static func matrix(_ shape: [Int]) -> (rows: Int, columns: Int)? {
        shape.count == 2 ? (shape[0], shape[1]) : nil
    }

    /// Flora's rule for low-rank state (also used for GaLore): a matrix whose smaller side is at least
    /// `rank` and whose sides differ by at most `maxAspect` times (4: the reference's rule, which leaves
    /// embeddings and output heads out; nil: any matrix).
    public static func admitsLowRank(_ shape: [Int], rank: Int, maxAspect: Int? = 4) -> Bool {
        guard let (n, m) = matrix(shape), rank > 0 else { return false }
        return min(n, m) >= rank && (maxAspect.map { max(n, m) <= $0 * min(n, m) } ?? true)
    }

    /// Root mean square of `values`, summed in Double.
    public static func rms(_ values: UnsafeBufferPointer<Float>) -> Float {
        guard !values.isEmpty else { return 0 }
        var sum = 0.0
        for v in values { sum += Double(v) * Double(v) }
        return Float((sum / Double(values.count)).squareRoot())
    }
}
