/// Weighted least-squares choice of one subgroup's grid: a small search over candidate scales, each
/// refined by refitting the grid to the codes it produced, keeping the one with the least weighted
/// squared error. This is what makes our round-to-nearest beat plain min/max scaling at the same size.
enum ScaleSearch {
    /// Candidates tried on each side of the plain choice, in steps of a tenth of a level.
    static let candidateSteps = 10

    /// The scale d for levels d*q, q in lowest...highest (lowest < 0 < highest), minimising
    /// sum w (x - d q)^2. The plain choice maps the largest-magnitude value onto `lowest`, as ggml does.
    static func symmetric(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, count n: Int, lowest: Int, highest: Int) -> Float {
        var extreme: Float = 0
        for i in 0..<n where abs(x[i]) > abs(extreme) { extreme = x[i] }
        guard extreme != 0 else { return 0 }
        var best: Float = extreme / Float(lowest), bestError = Float.infinity
        for step in -candidateSteps...candidateSteps {
            let inverse = (Float(lowest) + 0.1 * Float(step)) / extreme
            guard inverse != 0 else { continue }
            var xq: Float = 0, qq: Float = 0
            for i in 0..<n {
                let q = min(max((x[i] * inverse).rounded(), Float(lowest)), Float(highest))
                xq += w[i] * x[i] * q
                qq += w[i] * q * q
            }
            for d in [1 / inverse, qq > 0 ? xq / qq : 1 / inverse] {
                let error = symmetricError(x, w, n, d, lowest, highest)
                if error < bestError { (best, bestError) = (d, error) }
            }
        }
        return best
    }

    static func symmetricError(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ n: Int, _ d: Float, _ lowest: Int, _ highest: Int) -> Float {
        guard d != 0 else { return (0..<n).reduce(0) { $0 + w[$1] * x[$1] * x[$1] } }
        var error: Float = 0
        for i in 0..<n {
            let q = min(max((x[i] / d).rounded(), Float(lowest)), Float(highest))
            let e = x[i] - d * q
            error += w[i] * e * e
        }
        return error
    }

    /// How an affine grid's offset is constrained by the format storing it.
    enum OffsetRule {
        /// Any offset (Q4_1, Q5_1: a stored F16 minimum).
        case free
        /// Offset at most 0 (K-quants store the negated minimum as an unsigned value).
        case nonPositive
        /// offset = -scale * zero for an integer zero point in 1..<levels (GPTQ's checkpoints store
        /// zero - 1 unsigned, so 0 cannot be written).
        case integerZero
    }

    /// The grid (scale, offset) for levels scale*q + offset, q in 0..<levels, minimising sum w (x - level)^2.
    static func affine(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, count n: Int, levels: Int, rule: OffsetRule) -> QuantGrid {
        var low = Float.infinity, high = -Float.infinity
        for i in 0..<n { low = min(low, x[i]); high = max(high, x[i]) }
        if rule == .nonPositive { low = min(low, 0) }
        guard high > low else { return constrained(QuantGrid(scale: 0, offset: low), levels: levels, rule: rule) }
        let top = Float(levels - 1)
        var best = constrained(QuantGrid(scale: (high - low) / top, offset: low), levels: levels, rule: rule)
        var bestError = affineError(x, w, n, best, levels)
        for step in -candidateSteps...candidateSteps {
            let candidate = constrained(QuantGrid(scale: (high - low) / (top + 0.1 * Float(step)), offset: low), levels: levels, rule: rule)
            guard candidate.scale > 0 else { continue }
            // Refit: weighted linear regression of x on the codes the candidate chose.
            var sw: Float = 0, sq: Float = 0, sx: Float = 0, sqq: Float = 0, sqx: Float = 0
            for i in 0..<n {
                let q = min(max(((x[i] - candidate.offset) / candidate.scale).rounded(), 0), top)
                sw += w[i]; sq += w[i] * q; sx += w[i] * x[i]; sqq += w[i] * q * q; sqx += w[i] * q * x[i]
            }
            let determinant = sw * sqq - sq * sq
            var refit = candidate
            if determinant > 0 {
                let scale = (sw * sqx - sq * sx) / determinant
                if scale > 0 { refit = constrained(QuantGrid(scale: scale, offset: (sx - scale * sq) / sw), levels: levels, rule: rule) }
            }
            for grid in [candidate, refit] {
                let error = affineError(x, w, n, grid, levels)
                if error < bestError { (best, bestError) = (grid, error) }
            }
        }
        return best
    }

    private static func constrained(_ grid: QuantGrid, levels: Int, rule: OffsetRule) -> QuantGrid {
        switch rule {
        case .free: return grid
        case .nonPositive: return QuantGrid(scale: grid.scale, offset: min(grid.offset, 0))
        case .integerZero:
            guard grid.scale > 0 else { return grid }
            let zero = min(max((-grid.offset / grid.scale).rounded(), 1), Float(levels - 1))
            return QuantGrid(scale: grid.scale, offset: -grid.scale * zero)
        }
    }

    static func affineError(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ n: Int, _ grid: QuantGrid, _ levels: Int) -> Float {
        var error: Float = 0
        let top = Float(levels - 1)
        for i in 0..<n {
            let q = grid.scale > 0 ? min(max(((x[i] - grid.offset) / grid.scale).rounded(), 0), top) : 0
            let e = x[i] - (grid.scale * q + grid.offset)
            error += w[i] * e * e
        }
        return error
    }
}
