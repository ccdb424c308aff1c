/// Flora's compressed momentum for one matrix: M (r x m or n x r) stands for UP(M) under a projection
/// regenerated from `seed`. Per step (flora-opt's PyTorch semantics):
///
///     update = (1 - beta1) u + beta1 UP(M)             the current u stays full rank
///     every kappa steps: M <- DOWN'(UP(M)), seed <- next(seed)   old momentum carried into the new subspace
///     M <- beta1 M + (1 - beta1) DOWN(u)
///
/// State: r * max(n, m) floats and the seed.
public struct FloraMomentum {
    public let rows: Int, columns: Int, rank: Int
    public let kind: RandomProjection.Kind
    public var seed: UInt64
    public var values: [Float]

    public init(shape: [Int], rank: Int, seed: UInt64, kind: RandomProjection.Kind) {
        rows = shape[0]
        columns = shape[1]
        self.rank = rank
        self.seed = seed
        self.kind = kind
        values = [Float](repeating: 0, count: RandomProjection(seed: seed, rank: rank, rows: rows, columns: columns, kind: kind).compressedCount)
    }

    public func projection(_ seed: UInt64) -> RandomProjection {
        RandomProjection(seed: seed, rank: rank, rows: rows, columns: columns, kind: kind)
    }

    /// Writes the update for normalised gradient `u` into `update` and advances the momentum.
    public mutating func step(u: UnsafeBufferPointer<Float>, beta1: Float, step: Int, kappa: Int, into update: UnsafeMutableBufferPointer<Float>) {
        var current = projection(seed)
        for i in 0..<u.count { update[i] = (1 - beta1) * u[i] }
        values.withUnsafeBufferPointer { current.up($0.baseAddress!, into: update.baseAddress!, alpha: beta1, beta: 1) }
        if kappa > 0 && step % kappa == 0 {
            let next = projection(RandomProjection.nextSeed(seed))
            var full = [Float](repeating: 0, count: rows * columns)
            values.withUnsafeBufferPointer { current.up($0.baseAddress!, into: &full) }
            values.withUnsafeMutableBufferPointer { next.down(full, into: $0.baseAddress!) }
            seed = RandomProjection.nextSeed(seed)
            current = next
        }
        values.withUnsafeMutableBufferPointer { current.down(u.baseAddress!, into: $0.baseAddress!, alpha: 1 - beta1, beta: beta1) }
    }
}
