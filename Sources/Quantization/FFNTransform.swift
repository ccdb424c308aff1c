import Foundation

/// A re-parameterisation of one SwiGLU FFN, down(silu(gate x) * up x), over its hidden units:
/// unit i of the result is unit `permutation[i]` of the original, its up row divided and its down
/// column multiplied by exp(logScale[i]) (both exact: the FFN computes the same function), then units
/// (2k, 2k+1) rotated by `angle[k]` in up rows and down columns (approximate: SwiGLU does not commute
/// with rotations, so angles stay small and the search's objective pays for any change).
///
/// Which quantized tensors a transform can change: gate and up are quantized along their rows (each
/// hidden unit's row on its own), so permuting or scaling units only reorders or rescales those rows
/// (nearly the same error); down is quantized along its columns, i.e. groups of hidden units share
/// scales, so permutation changes which units share a group and scaling changes what each group must
/// cover. The search therefore acts mainly on down's error; rotation also changes up's rows.
public struct FFNTransform: Sendable, Equatable {
    public var permutation: [Int]
    public var logScale: [Float]
    public var angle: [Float]

    /// The identity on `units` hidden units.
    public init(units: Int) {
        permutation = Array(0..<units)
        logScale = [Float](repeating: 0, count: units)
        angle = [Float](repeating: 0, count: units / 2)
    }

    public var units: Int { permutation.count }

    /// gate, up [units x dim] and down [dim x units] (row-major) under the transform.
    public func apply(gate: [Float], up: [Float], down: [Float], dim: Int) -> (gate: [Float], up: [Float], down: [Float]) {
        let rows = apply(gate: gate, up: up, dim: dim)
        return (rows.gate, rows.up, apply(down: down, dim: dim))
    }

    /// gate and up [units x dim] under the transform: rows permuted, up rows divided by the scales and
    /// rotated in pairs.
    public func apply(gate: [Float], up: [Float], dim: Int) -> (gate: [Float], up: [Float]) {
        var newGate = [Float](repeating: 0, count: units * dim), newUp = newGate
        for i in 0..<units {
            let source = permutation[i], scale = exp(logScale[i])
            for c in 0..<dim {
                newGate[i * dim + c] = gate[source * dim + c]
                newUp[i * dim + c] = up[source * dim + c] / scale
            }
        }
        for (k, theta) in angle.enumerated() where theta != 0 {
            let (a, b) = (2 * k, 2 * k + 1)
            Self.rotate(&newUp, theta, count: dim) { (a * dim + $0, b * dim + $0) }
        }
        return (newGate, newUp)
    }

    /// down [dim x units] under the transform: columns permuted, multiplied by the scales and rotated in pairs.
    public func apply(down: [Float], dim: Int) -> [Float] {
        let F = units
        var newDown = [Float](repeating: 0, count: dim * F)
        let scales = logScale.map { exp($0) }
        for r in 0..<dim {
            for i in 0..<F { newDown[r * F + i] = down[r * F + permutation[i]] * scales[i] }
        }
        for (k, theta) in angle.enumerated() where theta != 0 {
            let (a, b) = (2 * k, 2 * k + 1)
            Self.rotate(&newDown, theta, count: dim) { ($0 * F + a, $0 * F + b) }
        }
        return newDown
    }

    /// A down matrix [dim x units] stored under the transform, as it acts on the original units: the
    /// inverse of `apply(down:)` (pairs rotated back, then column permutation[i] is column i divided by
    /// unit i's scale).
    public func originalOrder(down stored: [Float], dim: Int) -> [Float] {
        originalOrder(stored, dim: dim, columnFactors: logScale.map { exp(-$0) })
    }

    /// A gradient with respect to the down matrix stored under the transform, as the gradient with
    /// respect to the original-order matrix (`originalOrder(down:)`'s result): pairs rotated back (a
    /// rotation's inverse is its transpose), then column permutation[i] is column i times unit i's
    /// scale, so that <this, X> = <gradient, apply(down: X)> for every X.
    public func originalOrder(downGradient stored: [Float], dim: Int) -> [Float] {
        originalOrder(stored, dim: dim, columnFactors: logScale.map { exp($0) })
    }

    private func originalOrder(_ stored: [Float], dim: Int, columnFactors: [Float]) -> [Float] {
        let F = units
        var unrotated = stored
        for (k, theta) in angle.enumerated() where theta != 0 {
            let (a, b) = (2 * k, 2 * k + 1)
            Self.rotate(&unrotated, -theta, count: dim) { ($0 * F + a, $0 * F + b) }
        }
        var out = [Float](repeating: 0, count: dim * F)
        for r in 0..<dim {
            for i in 0..<F { out[r * F + permutation[i]] = unrotated[r * F + i] * columnFactors[i] }
        }
        return out
    }

    /// The Hessian of down's inputs [units x units] under the transform: exact for permutation and
    /// scaling (unit i's activation is the original's divided by exp(logScale[i])); rotations are
    /// applied as if they were exact too.
    public func apply(hessian h: [Float]) -> [Float] {
        let F = units
        var out = [Float](repeating: 0, count: F * F)
        let inverse = logScale.map { exp(-$0) }
        for i in 0..<F {
            let row = permutation[i] * F
            for j in 0..<F { out[i * F + j] = h[row + permutation[j]] * inverse[i] * inverse[j] }
        }
        for (k, theta) in angle.enumerated() where theta != 0 {
            // H <- R H R^T: rows a, b then columns a, b.
            let (a, b) = (2 * k, 2 * k + 1)
            Self.rotate(&out, theta, count: F) { (a * F + $0, b * F + $0) }
            Self.rotate(&out, theta, count: F) { ($0 * F + a, $0 * F + b) }
        }
        return out
    }

    /// Rotates `count` pairs of elements of `values` by `theta`: pair j is at the two positions `pair(j)`.
    private static func rotate(_ values: inout [Float], _ theta: Float, count: Int, _ pair: (Int) -> (Int, Int)) {
        let (c, s) = (cos(theta), sin(theta))
        for j in 0..<count {
            let (first, second) = pair(j)
            let (x, y) = (values[first], values[second])
            values[first] = c * x - s * y
            values[second] = s * x + c * y
        }
    }
}
