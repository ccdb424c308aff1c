import Kernels

/// A weight matrix [rows x columns] (row-major, columns are the inputs) in a block format: each row is
/// columns / blockElements blocks, rows one after another, as GGUF stores a quantized tensor.
public struct QuantizedMatrix: Sendable {
    public let format: BlockFormat
    public let rows: Int
    public let columns: Int
    public var bytes: [UInt8]

    public init(format: BlockFormat, rows: Int, columns: Int, bytes: [UInt8]? = nil) {
        precondition(columns % format.blockElements == 0, "rows of \(columns) are not whole blocks of \(format.name)")
        self.format = format
        self.rows = rows
        self.columns = columns
        self.bytes = bytes ?? [UInt8](repeating: 0, count: rows * columns / format.blockElements * format.blockBytes)
    }

    public var blocksPerRow: Int { columns / format.blockElements }

    /// The values the stored codes stand for, as every reader of the format decodes them.
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns)
        bytes.withUnsafeBytes { raw in out.withUnsafeMutableBufferPointer { format.decode(raw, into: $0.baseAddress!) } }
        return out
    }
}

/// Round-to-nearest quantization: each block's parameters fitted by `ScaleSearch` (weighted by the
/// per-column `importance`, e.g. the calibration activations' mean squares), then every element on its
/// nearest level.
public enum RoundToNearest {
    public static func quantize(_ weights: [Float], rows: Int, columns: Int, format: BlockFormat, importance: [Float]? = nil,
                                threads: Int = Gemm.threadCount) -> QuantizedMatrix {
        precondition(weights.count == rows * columns && (importance?.count ?? columns) == columns, "matrix and importance sizes disagree")
        var result = QuantizedMatrix(format: format, rows: rows, columns: columns)
        let w = importance ?? [Float](repeating: 1, count: columns)
        let blocksPerRow = result.blocksPerRow, B = format.blockElements, bytesPerBlock = format.blockBytes
        weights.withUnsafeBufferPointer { x in
            w.withUnsafeBufferPointer { w in
                result.bytes.withUnsafeMutableBytes { out in
                    let base = out.baseAddress!
                    Parallel.forEachRange(rows, threads: threads, minimum: 8) { range in
                        for row in range {
                            for b in 0..<blocksPerRow {
                                format.quantizeBlock(x.baseAddress! + row * columns + b * B, importance: w.baseAddress! + b * B,
                                                     into: base + (row * blocksPerRow + b) * bytesPerBlock)
                            }
                        }
                    }
                }
            }
        }
        return result
    }
}
