import COpenBLAS

/// Row-major single-precision matrix products through OpenBLAS: every matrix product of the toolchain
/// goes through here, so that threads and kernels are chosen in one place.
public enum Gemm {
    /// Threads OpenBLAS uses for every product from now on (`-T`).
    public static func setThreads(_ count: Int) {
        _ = BLASCoreSelection.applied
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// The OpenBLAS kernel family in use (for reports), after the toolchain's own choice if OpenBLAS's
    /// detection fell back to generic kernels (see `BLASCoreSelection`).
    public static var coreName: String { BLASCoreSelection.applied }

    /// C[m x n] = alpha * op(A) * op(B) + beta * C, all row-major. `transposeA` means A is stored
    /// [k x m]; `transposeB` means B is stored [n x k]. Leading dimensions (the distance between rows
    /// as stored) default to the stored row lengths; larger ones address a block of columns inside a
    /// wider matrix, such as one attention head's columns, without copying it.
    public static func multiply(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
        alpha: Float = 1, beta: Float = 0, lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "negative matrix dimension")
        _ = BLASCoreSelection.applied
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(lda ?? (transposeA ? m : k)),
            b, Int32(ldb ?? (transposeB ? k : n)),
            beta, c, Int32(ldc ?? n))
    }
}
