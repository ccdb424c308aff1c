import Checkpoint
import Kernels
#if canImport(Glibc)
import Glibc
#endif

/// Adafactor (Shazeer & Stern) with the semantics of Flora's reference (flora-opt's PyTorch `Flora`
/// class): factored second moment for matrices (row and column EMAs with beta2_t = 1 - t^decay),
/// u = g / sqrt(v), optional momentum on u, the update clipped to RMS <= clip, step size
/// lr * max(eps2, RMS(W)) with `scaleParameter`, decoupled weight decay. With `rank`, momentum of the
/// matrices Flora admits is kept compressed by a random projection (`FloraMomentum`): that is Flora.
public final class Adafactor: Optimizer {
    public struct Settings: Sendable {
        /// Momentum; nil or 0: none.
        public var beta1: Float?
        public var decayRate: Float = -0.8
        public var epsilon1: Float = 1e-30
        public var epsilon2: Float = 1e-3
        public var clipThreshold: Float = 1
        public var scaleParameter = true
        public var weightDecay: Float = 0
        /// Flora's rank for compressed momentum; nil: momentum kept whole.
        public var rank: Int?
        /// Steps between resampling the projection.
        public var kappa = 1000
        public var seed: UInt64 = 0
        public var projection: RandomProjection.Kind = .gaussian
        /// Largest side ratio of a matrix with compressed momentum (4: the reference; nil: any).
        public var maxAspect: Int? = 4

        public init(beta1: Float? = nil, rank: Int? = nil, kappa: Int = 1000, seed: UInt64 = 0) {
            self.beta1 = beta1
            self.rank = rank
            self.kappa = kappa
            self.seed = seed
        }

        var usesMomentum: Bool { (beta1 ?? 0) > 0 }
    }

    public let settings: Settings
    private let shapes: [[Int]]
    private var rowMoments: [[Float]], columnMoments: [[Float]], fullMoments: [[Float]]
    private var denseMomentum: [[Float]]
    private var compressed: [FloraMomentum?]
    public private(set) var steps = 0
    private var scratch: [Float] = []

    public init(shapes: [[Int]], settings: Settings) {
        self.settings = settings
        self.shapes = shapes
        rowMoments = []; columnMoments = []; fullMoments = []; denseMomentum = []; compressed = []
        for (i, shape) in shapes.enumerated() {
            let count = shape.reduce(1, *)
            if let (n, m) = TensorShapes.matrix(shape) {
                rowMoments.append([Float](repeating: 0, count: n))
                columnMoments.append([Float](repeating: 0, count: m))
                fullMoments.append([])
            } else {
                rowMoments.append([]); columnMoments.append([])
                fullMoments.append([Float](repeating: 0, count: count))
            }
            let flora = settings.usesMomentum && TensorShapes.admitsLowRank(shape, rank: settings.rank ?? 0, maxAspect: settings.maxAspect)
            compressed.append(flora ? FloraMomentum(shape: shape, rank: settings.rank!, seed: settings.seed &+ UInt64(i + 1), kind: settings.projection) : nil)
            denseMomentum.append(settings.usesMomentum && !flora ? [Float](repeating: 0, count: count) : [])
        }
    }

    /// Whether tensor `index` keeps compressed (Flora) momentum.
    public func isCompressed(_ index: Int) -> Bool { compressed[index] != nil }

    public func update(_ index: Int, weights: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<Float>, learningRate: Float) {
        let s = settings, count = weights.count
        let t = Float(steps + 1)
        let rms = TensorShapes.rms(UnsafeBufferPointer(weights))
        let stepSize = s.scaleParameter ? learningRate * max(s.epsilon2, rms) : learningRate
        let beta2 = 1 - pow(t, s.decayRate)
        // u = g / sqrt(v) into `gradient`.
        if let (n, m) = TensorShapes.matrix(shapes[index]) {
            rowMoments[index].withUnsafeMutableBufferPointer { row in
                columnMoments[index].withUnsafeMutableBufferPointer { column in
                    var columnSums = [Double](repeating: 0, count: m)
                    for r in 0..<n {
                        var rowSum = 0.0
                        for c in 0..<m {
                            let g = gradient[r * m + c]
                            let square = Double(g * g + s.epsilon1)
                            rowSum += square
                            columnSums[c] += square
                        }
                        row[r] = beta2 * row[r] + (1 - beta2) * Float(rowSum / Double(m))
                    }
                    for c in 0..<m { column[c] = beta2 * column[c] + (1 - beta2) * Float(columnSums[c] / Double(n)) }
                    var rowMean = 0.0
                    for r in 0..<n { rowMean += Double(row[r]) }
                    let mean = Float(rowMean / Double(n))
                    for r in 0..<n {
                        let rowFactor = 1 / (row[r] / mean).squareRoot()
                        for c in 0..<m { gradient[r * m + c] *= rowFactor / column[c].squareRoot() }
                    }
                }
            }
        } else {
            fullMoments[index].withUnsafeMutableBufferPointer { v in
                for i in 0..<count {
                    let g = gradient[i]
                    v[i] = beta2 * v[i] + (1 - beta2) * (g * g + s.epsilon1)
                    gradient[i] = g / v[i].squareRoot()
                }
            }
        }
        // The update, with momentum.
        if scratch.count < count { scratch = [Float](repeating: 0, count: count) }
        scratch.withUnsafeMutableBufferPointer { buffer in
            let update = UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
            let b1 = s.beta1 ?? 0
            if compressed[index] != nil {
                compressed[index]!.step(u: UnsafeBufferPointer(gradient), beta1: b1, step: steps + 1, kappa: s.kappa, into: update)
            } else if s.usesMomentum {
                denseMomentum[index].withUnsafeMutableBufferPointer { momentum in
                    for i in 0..<count {
                        momentum[i] = gradient[i] * (1 - b1) + momentum[i] * b1
                        update[i] = momentum[i]
                    }
                }
            } else {
                _ = update.update(fromContentsOf: gradient)
            }
            let clip = max(1, TensorShapes.rms(UnsafeBufferPointer(update)) / s.clipThreshold)
            let scale = stepSize / clip
            let decay = 1 - s.weightDecay * stepSize
            for i in 0..<count { weights[i] = weights[i] * decay - update[i] * scale }
        }
    }

    public func endStep() { steps += 1 }

    public var stateBytes: Int {
        let floats = rowMoments.reduce(0) { $0 + $1.count } + columnMoments.reduce(0) { $0 + $1.count }
            + fullMoments.reduce(0) { $0 + $1.count } + denseMomentum.reduce(0) { $0 + $1.count }
            + compressed.reduce(0) { $0 + ($1?.values.count ?? 0) }
        return 4 * floats + 8 * compressed.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
    }

    public func saveState() -> OptimizerState {
        var state = OptimizerState(values: ["steps": String(steps)])
        func add(_ name: String, _ values: [Float]) {
            if !values.isEmpty { state.tensors.append(FloatTensor(name: name, shape: [values.count], values: values)) }
        }
        for i in shapes.indices {
            add("adafactor.\(i).row", rowMoments[i])
            add("adafactor.\(i).column", columnMoments[i])
            add("adafactor.\(i).v", fullMoments[i])
            add("adafactor.\(i).momentum", denseMomentum[i])
            if let flora = compressed[i] {
                add("adafactor.\(i).flora", flora.values)
                state.values["adafactor.\(i).seed"] = String(flora.seed)
            }
        }
        return state
    }

    public func restoreState(_ state: OptimizerState) throws {
        func load(_ name: String, _ values: inout [Float]) throws {
            if !values.isEmpty { values = try state.tensor(name, count: values.count) }
        }
        for i in shapes.indices {
            try load("adafactor.\(i).row", &rowMoments[i])
            try load("adafactor.\(i).column", &columnMoments[i])
            try load("adafactor.\(i).v", &fullMoments[i])
            try load("adafactor.\(i).momentum", &denseMomentum[i])
            if compressed[i] != nil {
                try load("adafactor.\(i).flora", &compressed[i]!.values)
                compressed[i]!.seed = try state.integer("adafactor.\(i).seed", as: UInt64.self)
            }
        }
        steps = try state.integer("steps")
    }
}
