import Kernels

/// Compares two checkpoints tensor by tensor (any formats, same names and shapes), with A as the
/// reference. One of them may be a pipe: it is streamed while the other is read at random.
public enum CheckpointComparison {
    /// Error statistics per tensor, in A's listed order, with the tensor names.
    public static func compare(_ a: Checkpoint, _ b: Checkpoint, chunkBytes: Int = 4 << 20) throws -> [(name: String, errors: ErrorStatistics)] {
        try checkMatching(a, b)
        let streamA = !a.isRandomAccess || b.isRandomAccess
        guard streamA ? b.isRandomAccess : a.isRandomAccess else {
            throw CheckpointError(file: b.name, "comparing two pipes is not possible: give at least one file")
        }
        let streamed = streamA ? a : b
        let other = streamA ? b : a
        var results = Array(repeating: ErrorStatistics(), count: a.tensors.count)
        var cachedIndex = -1
        var cached: [Float] = []
        var decoder = ChunkDecoder()
        try streamed.streamTensors(chunkBytes: chunkBytes) { chunk in
            let tensor = streamed.tensors[chunk.tensorIndex]
            guard let otherIndex = other.index(of: tensor.name) else { return }
            if otherIndex != cachedIndex {
                cached = try other.floats(of: otherIndex)
                cachedIndex = otherIndex
            }
            let range = ChunkDecoder.elementRange(of: chunk, type: tensor.type)
            let aIndex = streamA ? chunk.tensorIndex : otherIndex
            try decoder.decode(chunk, of: streamed) { values in
                cached.withUnsafeBufferPointer { reference in
                    let part = UnsafeBufferPointer(rebasing: reference[range])
                    if streamA { results[aIndex].add(values, part) } else { results[aIndex].add(part, values) }
                }
            }
        }
        return zip(a.tensors, results).map { ($0.name, $1) }
    }

    /// Same tensor names (as sets) and the same shape for each name; otherwise a clear error.
    private static func checkMatching(_ a: Checkpoint, _ b: Checkpoint) throws {
        let namesB = Set(b.tensors.map(\.name))
        let namesA = Set(a.tensors.map(\.name))
        if let missing = a.tensors.first(where: { !namesB.contains($0.name) }) {
            throw CheckpointError(file: b.name, "has no tensor '\(missing.name)' (present in \(a.name)); \(namesA.subtracting(namesB).count) names differ")
        }
        if let extra = b.tensors.first(where: { !namesA.contains($0.name) }) {
            throw CheckpointError(file: a.name, "has no tensor '\(extra.name)' (present in \(b.name))")
        }
        for tensor in a.tensors {
            let shapeB = b.tensors[b.index(of: tensor.name)!].shape
            guard tensor.shape == shapeB else {
                throw CheckpointError(file: b.name, "tensor '\(tensor.name)' has shape \(shapeB), but \(tensor.shape) in \(a.name)")
            }
            if case .otherGGML = tensor.type { throw CheckpointError(file: a.name, "tensor '\(tensor.name)': decoding \(tensor.type) is not supported") }
        }
    }
}
