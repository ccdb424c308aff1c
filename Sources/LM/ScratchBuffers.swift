/// Zeroed Float buffers for one forward pass, allocated together and released together, so that the
/// layer functions get plain pointers (offsets into them address one sequence of a batch).
struct ScratchBuffers {
    private let buffers: [UnsafeMutablePointer<Float>]

    init(_ counts: [Int]) {
        buffers = counts.map { count in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
            buffer.initialize(repeating: 0, count: max(1, count))
            return buffer
        }
    }

    subscript(index: Int) -> UnsafeMutablePointer<Float> { buffers[index] }

    func release() {
        for buffer in buffers { buffer.deallocate() }
    }
}
