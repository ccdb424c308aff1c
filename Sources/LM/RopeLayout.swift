/// Reordering of Q and K projection rows between RoPE conventions. llama.cpp's converter reorders
/// Hugging Face's rotate-half rows into adjacent pairs: within each head, row 2i + j of the adjacent
/// layout is row j*headDim/2 + i of the rotate-half layout.
public enum RopeLayout {
    /// For each row of the adjacent-pairs layout, the rotate-half row holding the same weights.
    public static func adjacentRowSources(rows: Int, headDim: Int) -> [Int] {
        var sources = Array(0..<rows)
        let half = headDim / 2
        for head in 0..<(rows / headDim) {
            for j in 0..<2 {
                for i in 0..<half { sources[head * headDim + 2 * i + j] = head * headDim + j * half + i }
            }
        }
        return sources
    }

    /// A GGUF (adjacent-pairs) Q or K matrix in Hugging Face's rotate-half row order.
    public static func adjacentToRotateHalf(_ values: [Float], rows: Int, columns: Int, headDim: Int) -> [Float] {
        var out = values
        for (adjacent, rotateHalf) in adjacentRowSources(rows: rows, headDim: headDim).enumerated() {
            for column in 0..<columns { out[rotateHalf * columns + column] = values[adjacent * columns + column] }
        }
        return out
    }
}
