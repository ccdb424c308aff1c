/// Decodes streamed tensor chunks to Float in one reused buffer: what every consumer of
/// `Checkpoint.streamTensors` that needs values (statistics, comparisons, conversions) does per chunk.
public struct ChunkDecoder {
    private var buffer: [Float] = []

    public init() {}

    /// Elements in `chunk`, and its first element's index in the tensor.
    public static func elementRange(of chunk: TensorChunk, type: TensorType) -> Range<Int> {
        let first = chunk.byteOffset / type.blockBytes * type.blockElements
        return first..<(first + chunk.bytes.count / type.blockBytes * type.blockElements)
    }

    /// Decodes `chunk` of `checkpoint` and hands its values to `body`; errors name the file and tensor.
    public mutating func decode<R>(_ chunk: TensorChunk, of checkpoint: Checkpoint, _ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        let tensor = checkpoint.tensors[chunk.tensorIndex]
        let count = Self.elementRange(of: chunk, type: tensor.type).count
        if buffer.count < count { buffer = [Float](repeating: 0, count: count) }
        return try buffer.withUnsafeMutableBufferPointer { all in
            let slice = UnsafeMutableBufferPointer(rebasing: all[0..<count])
            do {
                try ElementCodec.decode(tensor.type, chunk.bytes, into: slice)
            } catch let error as FormatError {
                throw CheckpointError(file: checkpoint.name, "tensor '\(tensor.name)': \(error.message)")
            }
            return try body(UnsafeBufferPointer(slice))
        }
    }
}
