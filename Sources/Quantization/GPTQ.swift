import Kernels

/// GPTQ (Frantar et al. 2022): quantizes a matrix one input column at a time and moves each column's
/// rounding error onto the columns not yet quantized, weighted by the inverse of the layer's input
/// Hessian H = sum x x^T over calibration activations, so that the layer's OUTPUT error is what is
/// minimised. Block parameters are fitted when a block's first column is reached (on the already
/// corrected values); with `actOrder`, columns go in decreasing order of H's diagonal and the
/// parameters of every block are fitted up front ("static groups"), so blocks stay contiguous runs
/// of columns, as GGUF and the trivial g_idx need.
public struct GPTQ: Sendable {
    /// Added to H's diagonal as a fraction of its mean (GPTQ's percdamp).
    public var damping: Double
    public var actOrder: Bool
    public var threads: Int

    public init(damping: Double = 0.01, actOrder: Bool = false, threads: Int = Gemm.threadCount) {
        self.damping = damping
        self.actOrder = actOrder
        self.threads = threads
    }

    /// Quantizes `weights` [rows x columns] given the Hessian [columns x columns] of its inputs.
    public func quantize(_ weights: [Float], rows: Int, columns n: Int, hessian: [Float], format: BlockFormat) -> QuantizedMatrix {
        precondition(weights.count == rows * n && hessian.count == n * n, "matrix and Hessian sizes disagree")
        var result = QuantizedMatrix(format: format, rows: rows, columns: n)
        var h = hessian.map(Double.init)
        var w = weights
        // Columns never activated carry no information: quantize them as zeros.
        for i in 0..<n where h[i * n + i] <= 0 {
            h[i * n + i] = 1
            for r in 0..<rows { w[r * n + i] = 0 }
        }
        let importance = (0..<n).map { Float(h[$0 * n + $0]) }
        let order = actOrder ? (0..<n).sorted { h[$0 * n + $0] > h[$1 * n + $1] } : Array(0..<n)
        let B = format.blockElements, blocksPerRow = n / B, bytesPerBlock = format.blockBytes
        if actOrder { fitAllBlocks(w, importance: importance, into: &result) }
        // Work in the quantization order: columns (and H) permuted.
        var permuted = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows { for i in 0..<n { permuted[r * n + i] = w[r * n + order[i]] } }
        var hp = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { hp[i * n + j] = h[order[i] * n + order[j]] } }
        let u = Self.inverseFactor(hp, size: n, damping: damping).map(Float.init)
        // Lazy batches: whole blocks when they are longer than 128 columns, so a block's fit sees
        // every correction made before it.
        let batch = 128 % B == 0 ? 128 : B
        let errors = UnsafeMutablePointer<Float>.allocate(capacity: rows * batch)
        defer { errors.deallocate() }
        permuted.withUnsafeMutableBufferPointer { wp in
            u.withUnsafeBufferPointer { u in
                importance.withUnsafeBufferPointer { importance in
                    result.bytes.withUnsafeMutableBytes { out in
                        let wp = wp.baseAddress!, u = u.baseAddress!, base = out.baseAddress!
                        for i1 in stride(from: 0, to: n, by: batch) {
                            let i2 = min(i1 + batch, n), count = i2 - i1
                            Parallel.forEachRange(rows, threads: threads, minimum: 8) { range in
                                for r in range {
                                    let row = wp + r * n
                                    for i in i1..<i2 {
                                        let column = order[i], e = column % B
                                        let block = base + (r * blocksPerRow + column / B) * bytesPerBlock
                                        if !actOrder && e == 0 {
                                            block.initializeMemory(as: UInt8.self, repeating: 0, count: bytesPerBlock)
                                            format.fit(row + i, importance: importance.baseAddress! + column, into: block)
                                        }
                                        let grid = format.grid(UnsafeRawPointer(block), subgroup: e / format.subgroupElements)
                                        let q = format.nearest(row[i], on: grid)
                                        format.store(q, element: e, in: block)
                                        let error = (row[i] - (grid.scale * format.code(q) + grid.offset)) / u[i * n + i]
                                        errors[r * batch + i - i1] = error
                                        for j in (i + 1)..<i2 { row[j] -= error * u[i * n + j] }
                                    }
                                }
                            }
                            if i2 < n {
                                Gemm.multiply(errors, u + i1 * n + i2, into: wp + i2, m: rows, n: n - i2, k: count,
                                              alpha: -1, beta: 1, lda: batch, ldb: n, ldc: n)
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Static groups: every block's parameters from the original weights, codes left empty.
    private func fitAllBlocks(_ w: [Float], importance: [Float], into result: inout QuantizedMatrix) {
        let format = result.format, n = result.columns, B = format.blockElements, blocksPerRow = result.blocksPerRow, rows = result.rows
        w.withUnsafeBufferPointer { w in
            importance.withUnsafeBufferPointer { importance in
                result.bytes.withUnsafeMutableBytes { out in
                    for r in 0..<rows {
                        for b in 0..<blocksPerRow {
                            format.fit(w.baseAddress! + r * n + b * B, importance: importance.baseAddress! + b * B,
                                       into: out.baseAddress! + (r * blocksPerRow + b) * format.blockBytes)
                        }
                    }
                }
            }
        }
    }

    /// The upper factor of H^-1 after damping, raising the damping tenfold until H is positive definite.
    static func inverseFactor(_ h: [Double], size n: Int, damping: Double) -> [Double] {
        let mean = max((0..<n).reduce(0) { $0 + h[$1 * n + $1] } / Double(max(n, 1)), 1e-12)
        var lambda = damping
        while true {
            var damped = h
            for i in 0..<n { damped[i * n + i] += lambda * mean }
            if let factor = Lapack.upperCholeskyOfInverse(damped, size: n) { return factor }
            lambda = max(lambda * 10, 1e-6)
        }
    }
}
