/// The last tensor decoded from a .nz file for random access, in a buffer whose address stays valid
/// until the next tensor is asked for.
final class NZTensorCache {
    private var index = -1
    private var buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    deinit { buffer.deallocate() }

    func bytes(of tensor: Int, decode: () throws -> [UInt8]) rethrows -> UnsafeRawBufferPointer {
        if tensor != index {
            let decoded = try decode()
            buffer.deallocate()
            buffer = .allocate(byteCount: max(1, decoded.count), alignment: 64)
            decoded.withUnsafeBytes { buffer.copyMemory(from: $0) }
            buffer = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<decoded.count])
            index = tensor
        }
        return UnsafeRawBufferPointer(buffer)
    }
}
