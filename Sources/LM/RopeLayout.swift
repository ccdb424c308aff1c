/// Reordering of Q and K projection rows between RoPE conventions. llama.cpp's converter reorders
/// Hugging Face's rotate-half rows into adjacent pairs; this is the inverse, so that a GGUF model can be
/// trained (and saved) in Hugging Face's layout: within each head, row j*headDim/2 + i of the result is
/// row 2i + j of the input.
public enum RopeLayout {
    public static func adjacentToRotateHalf(_ values: [Float], rows: Int, columns: Int, headDim: Int) -> [Float] {
        var out = values
        let half = headDim / 2
        for head in 0..<(rows / headDim) {
            for j in 0..<2 {
                for i in 0..<half {
                    let target = (head * headDim + j * half + i) * columns, source = (head * headDim + 2 * i + j) * columns
                    for column in 0..<columns { out[target + column] = values[source + column] }
                }
            }
        }
        return out
    }
}
