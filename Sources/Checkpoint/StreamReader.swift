#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sequential reading from a pipe or other non-seekable descriptor. Reads never allocate more than the
/// data that really arrived plus one bounded step, so a size read from untrusted input cannot make it
/// allocate terabytes.
public final class StreamReader: @unchecked Sendable {
    private let fd: Int32
    private let name: String
    /// Bytes consumed so far.
    public private(set) var position = 0
    private var buffer: [UInt8] = []
    private var bufferStart = 0
    private static let step = 1 << 20
    /// While non-nil, every consumed byte is appended here (to keep a header's raw bytes).
    private var recording: [UInt8]?

    private let ownsDescriptor: Bool

    /// Reads from `fd`; `name` is used in errors. With `ownsDescriptor` the descriptor is closed with the reader.
    public init(fd: Int32, name: String, ownsDescriptor: Bool = false) {
        self.fd = fd
        self.name = name
        self.ownsDescriptor = ownsDescriptor
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    /// Fills `buffer` from the descriptor; returns false at end of input.
    private func refill() throws -> Bool {
        if bufferStart == buffer.count { buffer.removeAll(keepingCapacity: true); bufferStart = 0 }
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: Self.step))
        let got = buffer.withUnsafeMutableBytes { raw -> Int in
            while true {
                let n = Glibc.read(fd, raw.baseAddress! + old, Self.step)
                if n >= 0 || errno != EINTR { return n }
            }
        }
        if got < 0 {
            buffer.removeLast(Self.step)
            throw CheckpointError(file: name, "read error: \(systemErrorMessage())")
        }
        buffer.removeLast(Self.step - got)
        return got > 0
    }

    /// Copies exactly `destination.count` bytes into `destination`; `what` names the data for errors.
    public func read(into destination: UnsafeMutableRawBufferPointer, what: @autoclosure () -> String) throws {
        var filled = 0
        while filled < destination.count {
            if bufferStart == buffer.count, try !refill() {
                throw CheckpointError(file: name, "unexpected end of input in \(what()) (after \(position) bytes)")
            }
            let n = min(destination.count - filled, buffer.count - bufferStart)
            buffer.withUnsafeBytes { src in
                UnsafeMutableRawBufferPointer(rebasing: destination[filled..<(filled + n)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: src[bufferStart..<(bufferStart + n)]))
            }
            if recording != nil { recording!.append(contentsOf: buffer[bufferStart..<(bufferStart + n)]) }
            filled += n
            bufferStart += n
            position += n
        }
    }

    /// Reads exactly `count` bytes into a new array that grows only as data arrives.
    public func read(count: Int, what: @autoclosure () -> String) throws -> [UInt8] {
        var result: [UInt8] = []
        while result.count < count {
            let n = min(count - result.count, Self.step)
            let start = result.count
            result.append(contentsOf: repeatElement(0, count: n))
            let label = what()
            try result.withUnsafeMutableBytes { raw in
                try read(into: UnsafeMutableRawBufferPointer(rebasing: raw[start..<(start + n)]), what: label)
            }
        }
        return result
    }

    /// Discards exactly `count` bytes.
    public func skip(_ count: Int, what: @autoclosure () -> String) throws {
        var left = count
        while left > 0 {
            if bufferStart == buffer.count, try !refill() {
                throw CheckpointError(file: name, "unexpected end of input in \(what()) (after \(position) bytes)")
            }
            let n = min(left, buffer.count - bufferStart)
            if recording != nil { recording!.append(contentsOf: buffer[bufferStart..<(bufferStart + n)]) }
            bufferStart += n
            position += n
            left -= n
        }
    }

    /// The next `count` bytes without consuming them (fewer when the input ends first).
    public func peek(_ count: Int) throws -> [UInt8] {
        while buffer.count - bufferStart < count, try refill() {}
        return Array(buffer[bufferStart..<min(buffer.count, bufferStart + count)])
    }

    /// Starts keeping a copy of every byte consumed from now on.
    public func startRecording() { recording = [] }

    /// Stops keeping copies and returns what was consumed since `startRecording()`.
    public func stopRecording() -> [UInt8] {
        defer { recording = nil }
        return recording ?? []
    }

    /// Reads whatever is available, up to `destination.count` bytes; 0 means end of input.
    public func readSome(into destination: UnsafeMutableRawBufferPointer) throws -> Int {
        if bufferStart == buffer.count, try !refill() { return 0 }
        let n = min(destination.count, buffer.count - bufferStart)
        buffer.withUnsafeBytes { src in
            UnsafeMutableRawBufferPointer(rebasing: destination[0..<n]).copyMemory(from: UnsafeRawBufferPointer(rebasing: src[bufferStart..<(bufferStart + n)]))
        }
        if recording != nil { recording!.append(contentsOf: buffer[bufferStart..<(bufferStart + n)]) }
        bufferStart += n
        position += n
        return n
    }

    /// True when no byte is left.
    public func atEnd() throws -> Bool {
        if bufferStart < buffer.count { return false }
        return try !refill()
    }
}
