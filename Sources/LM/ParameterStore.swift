import Checkpoint
import NeuZip

/// The weights of a model being trained, by index, in F32: each tensor either plainly in memory, or
/// (NeuZip's dynamic compression) losslessly compressed and expanded only while an operation uses it,
/// so that memory holds the compressed model plus the tensor in use. Both give the same bits, so
/// training is bit-identical either way.
///
/// A compressed tensor is kept as independent pieces of `pieceValues` values: encoding then needs only
/// a piece's worth of scratch, and the pieces are all about one size, which the allocator reuses
/// instead of fragmenting the heap with tensor-sized blocks on every update.
public final class ParameterStore {
    public let names: [String]
    public let shapes: [[Int]]
    /// Per tensor: its values when held plainly, nil when compressed.
    private var dense: [UnsafeMutableBufferPointer<Float>?]
    /// Per tensor: its compressed pieces (empty when held plainly).
    private var packed: [[[UInt8]]]
    static let pieceValues = 1 << 16
    /// Expansion buffers by element count, kept for the next use: every layer has the shapes of the
    /// others, so a run needs one tensor's worth, allocated once instead of on every use.
    private var spare: [Int: [UnsafeMutableBufferPointer<Float>]] = [:]

    /// Takes the tensors over: each one's values are released as soon as they are stored, so that the
    /// model is never held twice (callers pass them with `consume`). Tensor i is compressed when
    /// `compressed(i)`.
    public init(_ tensors: consuming [FloatTensor], compressed: (Int) -> Bool) {
        var owned = tensors
        names = owned.map(\.name)
        shapes = owned.map(\.shape)
        dense = []
        packed = []
        for i in owned.indices {
            if compressed(i) {
                packed.append(owned[i].values.withUnsafeBytes { Self.encodePieces($0) })
                dense.append(nil)
            } else {
                let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: owned[i].values.count)
                _ = buffer.initialize(from: owned[i].values)
                dense.append(buffer)
                packed.append([])
            }
            owned[i].values = []
        }
    }

    /// Every tensor plain (`compressed: false`) or every tensor compressed.
    public convenience init(_ tensors: consuming [FloatTensor], compressed: Bool) {
        self.init(tensors, compressed: { _ in compressed })
    }

    deinit {
        for buffer in dense { buffer?.deallocate() }
        for buffers in spare.values { for buffer in buffers { buffer.deallocate() } }
    }

    public var count: Int { names.count }

    /// True when some tensor is held compressed.
    public var isCompressed: Bool { dense.contains { $0 == nil } }

    /// Elements of tensor `index`.
    public func elementCount(_ index: Int) -> Int { shapes[index].reduce(1, *) }

    /// Bytes the weights occupy now (compressed or not).
    public var storedBytes: Int {
        (0..<count).reduce(0) { total, i in total + (dense[i].map { 4 * $0.count } ?? packed[i].reduce(0) { $0 + $1.count }) }
    }

    /// Runs `body` with the values of the tensors `indices` (in that order), the compressed ones expanded
    /// for the call; changes made through the pointers are kept only with `modify`.
    public func withValues<R>(_ indices: [Int], _ body: ([UnsafeMutablePointer<Float>]) throws -> R) rethrows -> R {
        let expanded = indices.map { dense[$0] == nil ? expand($0) : nil }
        defer { for buffer in expanded { if let buffer { release(buffer) } } }
        return try body(indices.indices.map { k in (dense[indices[k]] ?? expanded[k]!).baseAddress! })
    }

    /// Runs `body` on tensor `index`'s values and keeps what it changed (recompressed when compressed).
    public func modify(_ index: Int, _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        if let plain = dense[index] { return try body(plain) }
        let buffer = expand(index)
        defer { release(buffer) }
        try body(buffer)
        let raw = UnsafeRawBufferPointer(buffer)
        for (k, bytes) in Self.pieces(raw.count).enumerated() {
            let encoded = FloatChunkCodec.encode(UnsafeRawBufferPointer(rebasing: raw[bytes]), layout: .float32)
            // Rewritten in place when it fits (pieces are made with a little room), so that steady
            // training allocates nothing and the heap does not fragment.
            if encoded.count <= packed[index][k].capacity {
                packed[index][k].removeAll(keepingCapacity: true)
                packed[index][k].append(contentsOf: encoded)
            } else {
                packed[index][k] = Self.compact(encoded)
            }
        }
    }

    /// Every tensor, expanded, for saving.
    public func tensors() -> [FloatTensor] {
        (0..<count).map { i in withValues([i]) { FloatTensor(name: names[i], shape: shapes[i], values: Array(UnsafeBufferPointer(start: $0[0], count: elementCount(i)))) } }
    }

    /// A copy with 1/32 spare capacity (room for the next encoding of the piece, whose size varies a
    /// little), not the up to as much again that an encoder's growing output keeps: kept for the whole
    /// run, that would cost more than compression saves.
    private static func compact(_ bytes: [UInt8]) -> [UInt8] {
        var copy: [UInt8] = []
        copy.reserveCapacity(bytes.count + bytes.count / 32)
        copy.append(contentsOf: bytes)
        return copy
    }

    /// The byte ranges of the pieces of a tensor of `byteCount` bytes.
    private static func pieces(_ byteCount: Int) -> [Range<Int>] {
        stride(from: 0, to: byteCount, by: 4 * pieceValues).map { $0..<min($0 + 4 * pieceValues, byteCount) }
    }

    /// The F32 values in `bytes`, compressed piece by piece.
    private static func encodePieces(_ bytes: UnsafeRawBufferPointer) -> [[UInt8]] {
        pieces(bytes.count).map { compact(FloatChunkCodec.encode(UnsafeRawBufferPointer(rebasing: bytes[$0]), layout: .float32)) }
    }

    private func release(_ buffer: UnsafeMutableBufferPointer<Float>) {
        spare[buffer.count, default: []].append(buffer)
    }

    private func expand(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
        let count = elementCount(index)
        let buffer = spare[count]?.popLast() ?? UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        let raw = UnsafeMutableRawBufferPointer(buffer)
        for (piece, bytes) in zip(packed[index], Self.pieces(raw.count)) {
            piece.withUnsafeBytes { encoded in
                // The bytes were made by this process from valid floats: decoding cannot fail.
                try! FloatChunkCodec.decode(encoded, layout: .float32, into: UnsafeMutableRawBufferPointer(rebasing: raw[bytes]))
            }
        }
        return buffer
    }
}
