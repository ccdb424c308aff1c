import Kernels

/// Flora's random projection of an n x m matrix to rank r, regenerated from an integer seed instead of
/// being stored. It acts on the smaller side: for n < m, A is r x n and DOWN(X) = A X (r x m),
/// UP(C) = A^T C; otherwise A is m x r and DOWN(X) = X A (n x r), UP(C) = C A^T. Gaussian entries
/// N(0, 1/r) make E[A^T A] = I (or E[A A^T] = I); the orthogonal kind has orthonormal directions scaled
/// by sqrt(side / r), which keeps that expectation and makes A^T A = I exactly at full rank. The subspace
/// kind has orthonormal directions unscaled: UP(DOWN(x)) is x's projection on a random r-dimensional
/// subspace (biased towards 0 by r / side, but never amplified), as GaLore's projector is.
public struct RandomProjection {
    public enum Kind: String, Sendable, CaseIterable {
        case gaussian, orthogonal, subspace
    }

    public let rank: Int, rows: Int, columns: Int
    /// Whether A multiplies from the left (n < m).
    public let left: Bool
    /// A, row-major: r x n on the left, m x r on the right.
    public let matrix: [Float]

    public init(seed: UInt64, rank: Int, rows: Int, columns: Int, kind: Kind = .gaussian) {
        self.rank = rank
        self.rows = rows
        self.columns = columns
        left = rows < columns
        let side = left ? rows : columns
        var stream = GaussianStream(seed: seed)
        // `rank` directions of length `side`.
        var directions = (0..<(rank * side)).map { _ in stream.next() }
        let scale: Float
        switch kind {
        case .gaussian:
            scale = 1 / Float(rank).squareRoot()
        case .orthogonal:
            Self.orthonormalise(&directions, count: rank, length: side)
            scale = (Float(side) / Float(rank)).squareRoot()
        case .subspace:
            Self.orthonormalise(&directions, count: rank, length: side)
            scale = 1
        }
        for i in directions.indices { directions[i] *= scale }
        // Left: rows of A are the directions. Right: columns of A are.
        if left {
            matrix = directions
        } else {
            var transposed = [Float](repeating: 0, count: side * rank)
            for r in 0..<rank { for i in 0..<side { transposed[i * rank + r] = directions[r * side + i] } }
            matrix = transposed
        }
    }

    /// Elements of DOWN(X).
    public var compressedCount: Int { left ? rank * columns : rows * rank }

    /// out = alpha * DOWN(x) + beta * out.
    public func down(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, alpha: Float = 1, beta: Float = 0) {
        matrix.withUnsafeBufferPointer { a in
            if left {
                Gemm.multiply(a.baseAddress!, x, into: out, m: rank, n: columns, k: rows, alpha: alpha, beta: beta)
            } else {
                Gemm.multiply(x, a.baseAddress!, into: out, m: rows, n: rank, k: columns, alpha: alpha, beta: beta)
            }
        }
    }

    /// out = alpha * UP(c) + beta * out (out is n x m).
    public func up(_ c: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, alpha: Float = 1, beta: Float = 0) {
        matrix.withUnsafeBufferPointer { a in
            if left {
                Gemm.multiply(a.baseAddress!, c, into: out, m: rows, n: columns, k: rank, transposeA: true, alpha: alpha, beta: beta)
            } else {
                Gemm.multiply(c, a.baseAddress!, into: out, m: rows, n: columns, k: rank, transposeB: true, alpha: alpha, beta: beta)
            }
        }
    }

    /// The seed of the next projection in a stream (distinct streams for distinct seeds).
    public static func nextSeed(_ seed: UInt64) -> UInt64 { GaussianStream.mix(seed ^ 0xD6E8_FEB8_6659_FD93) }

    /// Gram-Schmidt (twice, in Double) on `count` vectors of `length` stored one after another.
    private static func orthonormalise(_ vectors: inout [Float], count: Int, length: Int) {
        var work = vectors.map(Double.init)
        for i in 0..<count {
            for _ in 0..<2 {
                for j in 0..<i {
                    var dot = 0.0
                    for k in 0..<length { dot += work[i * length + k] * work[j * length + k] }
                    for k in 0..<length { work[i * length + k] -= dot * work[j * length + k] }
                }
            }
            var norm = 0.0
            for k in 0..<length { norm += work[i * length + k] * work[i * length + k] }
            norm = norm.squareRoot()
            for k in 0..<length { work[i * length + k] /= norm }
        }
        vectors = work.map(Float.init)
    }
}
