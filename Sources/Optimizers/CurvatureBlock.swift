import Kernels
#if canImport(Glibc)
import Glibc
#endif

/// Ginger's state for one parameter block of size d: momentum m, and the curvature G (the top-`rank`
/// part of an EMA of ng ng^T) as orthonormal eigenvectors `basis` (rank x d, one per row) with
/// eigenvalues `sigma`; dense (d x d, Double) when d <= rank. Generic over the storage precision so that
/// tests can run it in Double against an explicit recursion.
public struct CurvatureBlock<Scalar: BinaryFloatingPoint> {
    public let size: Int, rank: Int
    public private(set) var momentum: [Scalar]
    /// Eigenvectors of G, row r is the r-th; only the first `used` rows are set.
    public private(set) var basis: [Scalar]
    public private(set) var sigma: [Double]
    /// G itself (size x size) for blocks no larger than the rank.
    public private(set) var dense: [Double]
    public private(set) var used = 0

    public init(size: Int, rank: Int) {
        self.size = size
        self.rank = rank
        momentum = [Scalar](repeating: 0, count: size)
        let isDense = rank > 0 && size <= rank
        basis = isDense || rank == 0 ? [] : [Scalar](repeating: 0, count: rank * size)
        sigma = isDense || rank == 0 ? [] : [Double](repeating: 0, count: rank)
        dense = isDense ? [Double](repeating: 0, count: size * size) : []
    }

    var isDense: Bool { !dense.isEmpty }

    /// Bytes of state: momentum, eigenvectors and eigenvalues (or the dense matrix).
    public var stateBytes: Int {
        MemoryLayout<Scalar>.size * (momentum.count + basis.count) + 8 * (sigma.count + dense.count)
    }

    /// G <- top_rank(beta2 G + (1 - beta2) ng ng^T), exactly.
    public mutating func observe(_ ng: UnsafeBufferPointer<Float>, beta2: Double) {
        observe(ng.map { Double($0) }, beta2: beta2)
    }

    /// The same, for a gradient in Double.
    public mutating func observe(_ ng: [Double], beta2: Double) {
        guard rank > 0 else { return }
        let d = size
        if isDense {
            for i in 0..<d { for j in 0..<d { dense[i * d + j] = beta2 * dense[i * d + j] + (1 - beta2) * ng[i] * ng[j] } }
            return
        }
        // Coordinates of ng in the basis, and its part outside.
        var coefficients = [Double](repeating: 0, count: used + 1)
        var outside = ng
        for r in 0..<used {
            var dot = 0.0
            for i in 0..<d { dot += Double(basis[r * d + i]) * outside[i] }
            coefficients[r] = dot
        }
        for r in 0..<used where coefficients[r] != 0 {
            for i in 0..<d { outside[i] -= coefficients[r] * Double(basis[r * d + i]) }
        }
        // Twice for orthogonality in finite precision.
        for r in 0..<used {
            var dot = 0.0
            for i in 0..<d { dot += Double(basis[r * d + i]) * outside[i] }
            coefficients[r] += dot
            for i in 0..<d { outside[i] -= dot * Double(basis[r * d + i]) }
        }
        let norm = outside.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let scale = max(ng.reduce(0.0) { $0 + $1 * $1 }.squareRoot(), .leastNormalMagnitude)
        let grows = norm > 1e-10 * scale
        let k = used + (grows ? 1 : 0)
        coefficients[used] = grows ? norm : 0
        // The core matrix in the basis [U q]: beta2 diag(sigma, 0) + (1 - beta2) c c^T.
        var core = [Double](repeating: 0, count: k * k)
        for a in 0..<k {
            for b in 0..<k { core[a * k + b] = (1 - beta2) * coefficients[a] * coefficients[b] }
            if a < used { core[a * k + a] += beta2 * sigma[a] }
        }
        guard let (values, vectors) = Lapack.symmetricEigen(core, size: k) else { return }
        // Keep the largest `rank` eigenpairs (LAPACK returns ascending order).
        let keep = min(rank, k)
        var newBasis = [Scalar](repeating: 0, count: rank * d)
        var newSigma = [Double](repeating: 0, count: rank)
        for slot in 0..<keep {
            let e = k - 1 - slot
            newSigma[slot] = max(0, values[e])
            for i in 0..<d {
                var v = 0.0
                for a in 0..<used { v += vectors[e * k + a] * Double(basis[a * d + i]) }
                if grows { v += vectors[e * k + used] * outside[i] / norm }
                newBasis[slot * d + i] = Scalar(v)
            }
        }
        basis = newBasis
        sigma = newSigma
        used = keep
    }

    /// m <- beta1 m + (1 - beta1) g; writes (G + lambda I)^-1 m_hat into `out` (which may be `gradient`).
    public mutating func step(gradient: UnsafeBufferPointer<Float>, beta1: Double, step: Int, lambda: Double,
                              into out: UnsafeMutableBufferPointer<Float>) {
        let result = self.step(gradient.map { Double($0) }, beta1: beta1, step: step, lambda: lambda)
        for i in 0..<size { out[i] = Float(result[i]) }
    }

    /// The same in Double: returns (G + lambda I)^-1 m_hat.
    public mutating func step(_ gradient: [Double], beta1: Double, step: Int, lambda: Double) -> [Double] {
        let d = size
        let correction = 1 / (1 - pow(beta1, Double(step)))
        var mHat = [Double](repeating: 0, count: d)
        for i in 0..<d {
            momentum[i] = Scalar(beta1) * momentum[i] + Scalar(1 - beta1) * Scalar(gradient[i])
            mHat[i] = Double(momentum[i]) * correction
        }
        return isDense ? Self.solve(dense, mHat, lambda: lambda, size: d) : apply(mHat, lambda: lambda)
    }

    /// (G + lambda I)^-1 v by Woodbury on the eigenpairs: v / lambda - U diag(sigma / (lambda (lambda + sigma))) U^T v.
    public func apply(_ v: [Double], lambda: Double) -> [Double] {
        let d = size
        var result = v.map { $0 / lambda }
        for r in 0..<used where sigma[r] > 0 {
            var dot = 0.0
            for i in 0..<d { dot += Double(basis[r * d + i]) * v[i] }
            let factor = dot * sigma[r] / (lambda * (lambda + sigma[r]))
            for i in 0..<d { result[i] -= factor * Double(basis[r * d + i]) }
        }
        return result
    }

    /// (G + lambda I)^-1 b for a small dense symmetric G, through its eigenpairs.
    static func solve(_ g: [Double], _ b: [Double], lambda: Double, size d: Int) -> [Double] {
        guard let (values, vectors) = Lapack.symmetricEigen(g, size: d) else { return b.map { $0 / lambda } }
        var out = [Double](repeating: 0, count: d)
        for e in 0..<d {
            var dot = 0.0
            for i in 0..<d { dot += vectors[e * d + i] * b[i] }
            let factor = dot / (max(0, values[e]) + lambda)
            for i in 0..<d { out[i] += factor * vectors[e * d + i] }
        }
        return out
    }

    /// The state for checkpoints: vectors as Float tensors by slot name, and the Double eigenvalues
    /// (or dense matrix) and the count of eigenpairs as exact decimal text.
    func stateParts() -> (tensors: [(String, [Float])], values: [(String, String)]) {
        var tensors: [(String, [Float])] = [("m", momentum.map { Float($0) })]
        var values: [(String, String)] = []
        if !basis.isEmpty {
            tensors.append(("basis", basis.map { Float($0) }))
            values += [("sigma", sigma.map { "\($0)" }.joined(separator: ",")), ("used", String(used))]
        }
        if isDense { values.append(("dense", dense.map { "\($0)" }.joined(separator: ","))) }
        return (tensors, values)
    }

    mutating func restore(tensor: (String, Int) throws -> [Float], value: (String) throws -> String) throws {
        func doubles(_ slot: String, _ count: Int) throws -> [Double] {
            let parsed = try value(slot).split(separator: ",").compactMap { Double($0) }
            guard parsed.count == count else { throw OptimizerStateError("Ginger state \(slot) has \(parsed.count) values, expected \(count)") }
            return parsed
        }
        momentum = try tensor("m", size).map { Scalar($0) }
        if !basis.isEmpty {
            basis = try tensor("basis", basis.count).map { Scalar($0) }
            sigma = try doubles("sigma", sigma.count)
            guard let count = Int(try value("used")), (0...rank).contains(count) else { throw OptimizerStateError("Ginger state 'used' is invalid") }
            used = count
        }
        if isDense { dense = try doubles("dense", dense.count) }
    }
}
