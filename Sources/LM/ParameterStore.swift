import Checkpoint
import NeuZip

/// The weights of a model being trained, by index, in F32: either plainly in memory, or (NeuZip's
/// dynamic compression, `compressed: true`) each tensor losslessly compressed and expanded only while
/// in use, so that memory holds the compressed model plus the tensors of one layer. Both give the same
/// bits, so training is bit-identical either way.
public final class ParameterStore {
    public let names: [String]
    public let shapes: [[Int]]
    public let isCompressed: Bool
    private var dense: [UnsafeMutableBufferPointer<Float>]
    private var packed: [[UInt8]]

    /// Takes the tensors over: each one's values are released as soon as they are stored, so that the
    /// model is never held twice (callers pass them with `consume`).
    public init(_ tensors: consuming [FloatTensor], compressed: Bool) {
        var owned = tensors
        names = owned.map(\.name)
        shapes = owned.map(\.shape)
        isCompressed = compressed
        dense = []
        packed = []
        for i in owned.indices {
            if compressed {
                packed.append(Self.compact(owned[i].values.withUnsafeBytes { FloatChunkCodec.encode($0, layout: .float32) }))
            } else {
                let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: owned[i].values.count)
                _ = buffer.initialize(from: owned[i].values)
                dense.append(buffer)
            }
            owned[i].values = []
        }
    }

    deinit { for buffer in dense { buffer.deallocate() } }

    public var count: Int { names.count }

    /// Elements of tensor `index`.
    public func elementCount(_ index: Int) -> Int { shapes[index].reduce(1, *) }

    /// Bytes the weights occupy now (compressed or not).
    public var storedBytes: Int {
        isCompressed ? packed.reduce(0) { $0 + $1.count } : dense.reduce(0) { $0 + $1.count * 4 }
    }

    /// Runs `body` with the values of the tensors `indices` (in that order), expanded for the call when
    /// compressed; changes made through the pointers are kept only with `modify`.
    public func withValues<R>(_ indices: [Int], _ body: ([UnsafeMutablePointer<Float>]) throws -> R) rethrows -> R {
        guard isCompressed else { return try body(indices.map { dense[$0].baseAddress! }) }
        let buffers = indices.map { expand($0) }
        defer { for buffer in buffers { buffer.deallocate() } }
        return try body(buffers.map { $0.baseAddress! })
    }

    /// Runs `body` on tensor `index`'s values and keeps what it changed (recompressed when compressed).
    public func modify(_ index: Int, _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        guard isCompressed else { return try body(dense[index]) }
        let buffer = expand(index)
        defer { buffer.deallocate() }
        try body(buffer)
        packed[index] = Self.compact(FloatChunkCodec.encode(UnsafeRawBufferPointer(buffer), layout: .float32))
    }

    /// Every tensor, expanded, for saving.
    public func tensors() -> [FloatTensor] {
        (0..<count).map { i in withValues([i]) { FloatTensor(name: names[i], shape: shapes[i], values: Array(UnsafeBufferPointer(start: $0[0], count: elementCount(i)))) } }
    }

    /// A copy without the spare capacity an encoder's growing output keeps (up to as much again as its
    /// contents): kept for the whole run, that spare capacity cost more than compression saved.
    private static func compact(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBufferPointer { source in
            [UInt8](unsafeUninitializedCapacity: source.count) { out, count in
                _ = out.initialize(fromContentsOf: source)
                count = source.count
            }
        }
    }

    private func expand(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: elementCount(index))
        packed[index].withUnsafeBytes { encoded in
            // The bytes were made by this process from valid floats: decoding cannot fail.
            try! FloatChunkCodec.decode(encoded, layout: .float32, into: UnsafeMutableRawBufferPointer(buffer))
        }
        return buffer
    }
}
