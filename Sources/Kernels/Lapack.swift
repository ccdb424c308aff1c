import COpenBLAS

/// The few LAPACK routines the optimizers need (OpenBLAS's LAPACK), with row-major Swift interfaces.
public enum Lapack {
    /// Thin SVD of the row-major m x n matrix `a`: a = U diag(S) Vt with U m x k, Vt k x n (row-major),
    /// k = min(m, n), singular values descending. Nil if LAPACK reports no convergence.
    public static func svd(_ a: [Float], rows m: Int, columns n: Int) -> (u: [Float], s: [Float], vt: [Float])? {
        // Row-major A is column-major A^T (n x m): its SVD V S U^T gives U^T and V^T in our layout.
        var work = a
        let k = min(m, n)
        var s = [Float](repeating: 0, count: k)
        var left = [Float](repeating: 0, count: n * k)   // column-major n x k = row-major k x n = Vt
        var right = [Float](repeating: 0, count: k * m)  // column-major k x m = row-major m x k = U
        var rowsT = Int32(n), columnsT = Int32(m), lda = Int32(n), ldu = Int32(n), ldvt = Int32(k), info: Int32 = 0
        var query: Float = 0, lwork: Int32 = -1
        let job = Int8(UInt8(ascii: "S"))
        var jobu = job, jobvt = job
        sgesvd_(&jobu, &jobvt, &rowsT, &columnsT, &work, &lda, &s, &left, &ldu, &right, &ldvt, &query, &lwork, &info)
        lwork = Int32(query)
        var scratch = [Float](repeating: 0, count: max(1, Int(lwork)))
        sgesvd_(&jobu, &jobvt, &rowsT, &columnsT, &work, &lda, &s, &left, &ldu, &right, &ldvt, &scratch, &lwork, &info)
        return info == 0 ? (right, s, left) : nil
    }

    /// Eigenvalues (ascending) and orthonormal eigenvectors (row i is the eigenvector of value i) of the
    /// symmetric n x n matrix `a` (row-major; only symmetry is assumed). Nil if LAPACK fails.
    public static func symmetricEigen(_ a: [Double], size n: Int) -> (values: [Double], vectors: [Double])? {
        var matrix = a
        var values = [Double](repeating: 0, count: n)
        var order = Int32(n), lda = Int32(max(1, n)), info: Int32 = 0
        var jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "L"))
        var query: Double = 0, iquery: Int32 = 0, lwork: Int32 = -1, liwork: Int32 = -1
        dsyevd_(&jobz, &uplo, &order, &matrix, &lda, &values, &query, &lwork, &iquery, &liwork, &info)
        lwork = Int32(query)
        liwork = iquery
        var work = [Double](repeating: 0, count: max(1, Int(lwork)))
        var iwork = [Int32](repeating: 0, count: max(1, Int(liwork)))
        dsyevd_(&jobz, &uplo, &order, &matrix, &lda, &values, &work, &lwork, &iwork, &liwork, &info)
        // Column-major eigenvectors (column i) read row-major are row i.
        return info == 0 ? (values, matrix) : nil
    }

    /// The upper-triangular U with U^T U = A^-1 for a symmetric positive-definite n x n matrix A
    /// (row-major): what GPTQ propagates quantization errors with. Nil if A is not positive definite.
    public static func upperCholeskyOfInverse(_ a: [Double], size n: Int) -> [Double]? {
        // Symmetric matrices read the same in both orders; a column-major lower factor L read
        // row-major is L^T, the upper factor.
        var matrix = a
        var order = Int32(n), lda = Int32(max(1, n)), info: Int32 = 0
        var lower = Int8(UInt8(ascii: "L"))
        dpotrf_(&lower, &order, &matrix, &lda, &info)
        guard info == 0 else { return nil }
        dpotri_(&lower, &order, &matrix, &lda, &info)
        guard info == 0 else { return nil }
        dpotrf_(&lower, &order, &matrix, &lda, &info)
        guard info == 0 else { return nil }
        // Only the lower triangle (column-major) is the factor; clear the rest (the upper's other half).
        for row in 0..<n { for column in 0..<row { matrix[row * n + column] = 0 } }
        return matrix
    }
}
