import Checkpoint

/// Sums gradients over the micro-batches of one step. Plain: a full buffer per tensor. Compressed
/// (Flora's accumulation, `rank`): every matrix keeps only DOWN(sum of gradients) under a projection
/// regenerated from its seed (r x max(n, m) floats), and the step gets UP of it; then the seed advances,
/// so every step uses a new projection. Other tensors are summed in full.
public final class GradientAccumulator {
    private let shapes: [[Int]]
    public let rank: Int?
    private let kind: RandomProjection.Kind
    private var buffers: [[Float]]
    private var seeds: [UInt64]
    private var projections: [RandomProjection?]
    private var expanded: [Float] = []

    public init(shapes: [[Int]], rank: Int? = nil, seed: UInt64 = 0, kind: RandomProjection.Kind = .gaussian) {
        self.shapes = shapes
        self.rank = rank
        self.kind = kind
        seeds = shapes.indices.map { seed &+ UInt64($0) }
        projections = Array(repeating: nil, count: shapes.count)
        buffers = []
        for i in shapes.indices { projections[i] = projection(i) }
        buffers = zip(shapes, projections).map { [Float](repeating: 0, count: $1?.compressedCount ?? $0.reduce(1, *)) }
    }

    /// Adds one micro-batch's gradient of tensor `index`.
    public func add(_ index: Int, _ gradient: UnsafeBufferPointer<Float>) {
        buffers[index].withUnsafeMutableBufferPointer { buffer in
            if let projection = projections[index] {
                projection.down(gradient.baseAddress!, into: buffer.baseAddress!, beta: 1)
            } else {
                for i in 0..<gradient.count { buffer[i] += gradient[i] }
            }
        }
    }

    /// Runs `body` with the accumulated gradient of tensor `index` (expanded when compressed).
    public func withGradient(_ index: Int, _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        guard let projection = projections[index] else { return try buffers[index].withUnsafeMutableBufferPointer { try body($0) } }
        let count = shapes[index].reduce(1, *)
        if expanded.count < count { expanded = [Float](repeating: 0, count: count) }
        try expanded.withUnsafeMutableBufferPointer { full in
            buffers[index].withUnsafeBufferPointer { projection.up($0.baseAddress!, into: full.baseAddress!) }
            try body(UnsafeMutableBufferPointer(rebasing: full[0..<count]))
        }
    }

    /// Empties every sum and moves compressed tensors to their next projection.
    public func reset() {
        for i in buffers.indices {
            buffers[i].withUnsafeMutableBufferPointer { $0.initialize(repeating: 0) }
            if projections[i] != nil {
                seeds[i] = RandomProjection.nextSeed(seeds[i])
                projections[i] = projection(i)
            }
        }
    }

    private func projection(_ index: Int) -> RandomProjection? {
        guard let rank, let (n, m) = TensorShapes.matrix(shapes[index]), min(n, m) >= rank else { return nil }
        return RandomProjection(seed: seeds[index], rank: rank, rows: n, columns: m, kind: kind)
    }

    /// Bytes the sums occupy.
    public var stateBytes: Int { 4 * buffers.reduce(0) { $0 + $1.count } }

    /// The seeds, for checkpoints (the sums are empty between steps).
    public var seedValues: [String: String] {
        Dictionary(uniqueKeysWithValues: seeds.indices.filter { projections[$0] != nil }.map { ("accumulator.\($0).seed", String(seeds[$0])) })
    }

    /// Restores the seeds saved by `seedValues`.
    public func restoreSeeds(_ values: [String: String]) throws {
        for i in seeds.indices where projections[i] != nil {
            guard let text = values["accumulator.\(i).seed"], let seed = UInt64(text) else {
                throw OptimizerStateError("accumulator seed \(i) is missing")
            }
            seeds[i] = seed
            projections[i] = projection(i)
        }
    }
}
