#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An opened input: a regular file, memory-mapped, or a pipe read once in order. Opening first and
/// deciding the format after a look at the first bytes lets a tool accept any format on standard input.
public final class InputSource {
    /// The path as given, or "<stdin>".
    public let name: String
    /// The path as given ("-" for standard input).
    public let path: String

    enum Kind {
        case mapped(MappedFile)
        case stream(StreamReader)
    }
    let kind: Kind

    /// Opens `path`, or standard input for "-".
    public static func open(_ path: String) throws -> InputSource {
        let name = path == "-" ? "<stdin>" : path
        let fd = path == "-" ? STDIN_FILENO : Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError(file: name, "cannot open: \(systemErrorMessage())") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            if path != "-" { close(fd) }
            throw CheckpointError(file: name, "cannot stat: \(systemErrorMessage())")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            if path != "-" { close(fd) }
            throw CheckpointError(file: name, "is a directory")
        }
        if (info.st_mode & S_IFMT) == S_IFREG {
            defer { if path != "-" { close(fd) } }
            return InputSource(name: name, path: path, kind: .mapped(try MappedFile(fd: fd, size: Int(info.st_size), name: name)))
        }
        // Pipes, FIFOs, character devices: read once, in order; the reader closes what it opened.
        return InputSource(name: name, path: path, kind: .stream(StreamReader(fd: fd, name: name, ownsDescriptor: path != "-")))
    }

    private init(name: String, path: String, kind: Kind) {
        self.name = name
        self.path = path
        self.kind = kind
    }

    /// Up to `count` first bytes, without consuming them.
    public func peek(_ count: Int) throws -> [UInt8] {
        switch kind {
        case .mapped(let file): return Array(file.bytes.prefix(count))
        case .stream(let reader): return try reader.peek(count)
        }
    }

    /// True for the .nz container's magic.
    public func isNZ() throws -> Bool { try peek(4) == NZFormat.magic }

    /// The folder of the path (for files that name other files, like a shard index).
    var directory: String {
        guard path != "-", let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
