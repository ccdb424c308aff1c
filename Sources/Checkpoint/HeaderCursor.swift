/// Sequential reading of a format's header, from a memory map or from a pipe, with the bytes left known
/// for files so that every size read from the file can be checked before anything is allocated for it.
protocol HeaderCursor {
    /// Bytes consumed so far.
    var position: Int { get }
    /// Bytes left in the input, when known (files); nil for pipes.
    var remaining: Int? { get }
    /// Fills `destination` from the input or throws when it ends first.
    mutating func read(into destination: UnsafeMutableRawBufferPointer, what: @autoclosure () -> String) throws
    /// Moves past `count` bytes or throws when the input ends first.
    mutating func skip(_ count: Int, what: @autoclosure () -> String) throws
}

extension HeaderCursor {
    /// Reads a little-endian integer.
    mutating func readInteger<T: FixedWidthInteger>(_: T.Type = T.self, what: @autoclosure () -> String) throws -> T {
        var value: T = 0
        try withUnsafeMutableBytes(of: &value) { (raw) in try read(into: raw, what: what()) }
        return T(littleEndian: value)
    }

    /// Reads `count` bytes; `count` is checked against the bytes left when they are known.
    mutating func readBytes(_ count: Int, what: @autoclosure () -> String) throws -> [UInt8] {
        if let remaining, count > remaining {
            throw FormatError("\(what()) of \(count) bytes at offset \(position) runs past the end of the file")
        }
        var bytes: [UInt8] = []
        let step = 1 << 20
        while bytes.count < count {
            let start = bytes.count
            let n = min(step, count - start)
            bytes.append(contentsOf: repeatElement(0, count: n))
            try bytes.withUnsafeMutableBytes { raw in
                try read(into: UnsafeMutableRawBufferPointer(rebasing: raw[start..<(start + n)]), what: what())
            }
        }
        return bytes
    }
}

/// A cursor over bytes in memory (a mapped file).
struct MemoryCursor: HeaderCursor {
    let bytes: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int? { bytes.count - position }

    mutating func read(into destination: UnsafeMutableRawBufferPointer, what: @autoclosure () -> String) throws {
        guard destination.count <= bytes.count - position else {
            throw FormatError("file ends inside \(what()) at offset \(position)")
        }
        destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + destination.count)]))
        position += destination.count
    }

    mutating func skip(_ count: Int, what: @autoclosure () -> String) throws {
        guard count <= bytes.count - position else { throw FormatError("file ends inside \(what()) at offset \(position)") }
        position += count
    }

    /// Moves to an absolute offset.
    mutating func seek(to offset: Int) throws {
        guard offset >= 0 && offset <= bytes.count else { throw FormatError("offset \(offset) is outside the file") }
        position = offset
    }
}

/// A cursor over a pipe.
struct StreamCursor: HeaderCursor {
    let reader: StreamReader
    var position: Int { reader.position }
    var remaining: Int? { nil }

    mutating func read(into destination: UnsafeMutableRawBufferPointer, what: @autoclosure () -> String) throws {
        try reader.read(into: destination, what: what())
    }

    mutating func skip(_ count: Int, what: @autoclosure () -> String) throws {
        try reader.skip(count, what: what())
    }
}
