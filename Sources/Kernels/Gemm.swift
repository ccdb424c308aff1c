import COpenBLAS

/// Row-major single-precision matrix products through OpenBLAS: every matrix product of the toolchain
/// goes through here, so that threads and kernels are chosen in one place.
///
/// Threads are the toolchain's own, not OpenBLAS's: OpenBLAS runs single-threaded and a large product
/// is cut into row blocks computed in parallel. OpenBLAS's idle workers spin in sched_yield between
/// calls, which took a fifth of the CPU in training (thousands of products per step) and competed with
/// our own parallel loops; row blocks cost one extra packing of B per thread, negligible at these sizes.
public enum Gemm {
    nonisolated(unsafe) private static var threads = 1
    /// True while `parallelSmallProducts` runs: products inside it are not split again.
    nonisolated(unsafe) private static var insideParallelRegion = false

    /// Threads for every product from now on (`-T`).
    public static func setThreads(_ count: Int) {
        _ = BLASCoreSelection.applied
        openblas_set_num_threads(1)
        threads = max(1, count)
    }

    /// Makes OpenBLAS single-threaded and ends the worker threads it starts when the library loads:
    /// they spin in sched_yield for a while and take a core from the tools' own threads (measured: a
    /// sixth of nunzip's profile, and two threads scaling 1.3x instead of 1.9x on two cores). Products
    /// run on the toolchain's own threads (`setThreads`), so OpenBLAS never needs its workers.
    /// `blas_thread_shutdown_` is looked up at run time, so a build without it keeps its workers.
    public static func quietBLASWorkers() {
        openblas_set_num_threads(1)
        typealias Entry = @convention(c) () -> Int32
        if let shutdown = BLASCoreSelection.exported("blas_thread_shutdown_") {
            _ = unsafeBitCast(shutdown, to: Entry.self)()
        }
    }

    /// The thread count set by `setThreads`.
    public static var threadCount: Int { threads }

    /// The OpenBLAS kernel family in use (for reports), after the toolchain's own choice if OpenBLAS's
    /// detection fell back to generic kernels (see `BLASCoreSelection`).
    public static var coreName: String { BLASCoreSelection.applied }

    /// Runs `count` independent pieces of work that each do small products (attention of one sequence)
    /// on the threads set by `setThreads`; their products are not split further.
    public static func parallelSmallProducts(_ count: Int, _ body: (Int) -> Void) {
        guard threads > 1, count > 1, !insideParallelRegion else {
            for i in 0..<count { body(i) }
            return
        }
        insideParallelRegion = true
        defer { insideParallelRegion = false }
        Parallel.forEach(count, threads: threads, body)
    }

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
        let lda = lda ?? (transposeA ? m : k), ldb = ldb ?? (transposeB ? k : n), ldc = ldc ?? n
        func product(rows: Range<Int>) {
            cblas_sgemm(
                CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(rows.count), Int32(n), Int32(k), alpha,
                transposeA ? a + rows.lowerBound : a + rows.lowerBound * lda, Int32(lda),
                b, Int32(ldb), beta, c + rows.lowerBound * ldc, Int32(ldc))
        }
        // Split only products worth a thread hand-off (about a million multiply-adds) into blocks of
        // whole 16-row panels.
        let parts = insideParallelRegion || m * n * k < 1 << 20 ? 1 : min(threads, m / 16)
        guard parts > 1 else { return product(rows: 0..<m) }
        let block = ((m + parts - 1) / parts + 15) / 16 * 16
        Parallel.forEach(parts, threads: parts) { part in
            let start = part * block
            if start < m { product(rows: start..<min(m, start + block)) }
        }
    }
}
