#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Somewhere bytes are written in order: a file being written atomically, or standard output.
public protocol ByteSink: AnyObject {
    /// Appends `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Bytes written so far.
    var bytesWritten: Int { get }
}

extension ByteSink {
    /// Appends an array of bytes.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Appends `count` zero bytes.
    public func writeZeros(_ count: Int) throws {
        guard count > 0 else { return }
        try write([UInt8](repeating: 0, count: count))
    }
}

/// The reader of our output went away (`nzip -c big | head -c 100`): not an error worth a message.
public struct BrokenPipe: Error {}

/// Buffered writing to a file descriptor, with errors naming the output.
public final class FileDescriptorSink: ByteSink {
    private let fd: Int32
    /// The name used in error messages.
    public let name: String
    private var buffer: [UInt8] = []
    private let capacity = 1 << 20
    public private(set) var bytesWritten = 0

    /// Writes to `fd`, which is not closed here.
    public init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
        buffer.reserveCapacity(capacity)
    }

    /// Standard output.
    public static func standardOutput() -> FileDescriptorSink { FileDescriptorSink(fd: STDOUT_FILENO, name: "<stdout>") }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        bytesWritten += bytes.count
        if buffer.count + bytes.count <= capacity {
            buffer.append(contentsOf: bytes)
            return
        }
        try flush()
        if bytes.count >= capacity { try writeAll(bytes) } else { buffer.append(contentsOf: bytes) }
    }

    /// Writes out whatever is buffered.
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { throw BrokenPipe() }
                throw CheckpointError(file: name, "write failed: \(systemErrorMessage())")
            }
            done += n
        }
    }
}

/// A sink that counts bytes and keeps none (benchmarks, dry runs).
public final class DiscardingSink: ByteSink {
    public private(set) var bytesWritten = 0
    public init() {}
    public func write(_ bytes: UnsafeRawBufferPointer) throws { bytesWritten += bytes.count }
}
