import COpenBLAS

/// Row-major single-precision matrix products through OpenBLAS: every matrix product of the toolchain
/// goes through here, so that threads and kernels are chosen in one place.
public enum Gemm {
    /// Threads OpenBLAS uses for every product from now on (`-T`).
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// C[m x n] = alpha * op(A) * op(B) + beta * C, all row-major with leading dimensions equal to their
    /// stored row lengths. `transposeA` means A is stored [k x m]; `transposeB` means B is stored [n x k].
    public static func multiply(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
        alpha: Float = 1, beta: Float = 0
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "negative matrix dimension")
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(transposeA ? m : k),
            b, Int32(transposeB ? k : n),
            beta, c, Int32(n))
    }
}
