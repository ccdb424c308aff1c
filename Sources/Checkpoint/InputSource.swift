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
    /// For files: the open descriptor and what it was when opened, to notice changes during a run.
    private let descriptor: Int32
    private let opened: stat?

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
            let file: MappedFile
            do {
                file = try MappedFile(fd: fd, size: Int(info.st_size), name: name)
            } catch {
                if path != "-" { close(fd) }
                throw error
            }
            return InputSource(name: name, path: path, kind: .mapped(file), descriptor: path == "-" ? -1 : fd, opened: info)
        }
        // Pipes, FIFOs, character devices: read once, in order; the reader closes what it opened.
        return InputSource(name: name, path: path, kind: .stream(StreamReader(fd: fd, name: name, ownsDescriptor: path != "-")),
                           descriptor: -1, opened: nil)
    }

    private init(name: String, path: String, kind: Kind, descriptor: Int32, opened: stat?) {
        self.name = name
        self.path = path
        self.kind = kind
        self.descriptor = descriptor
        self.opened = opened
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Throws when the file was modified, truncated, replaced or removed since it was opened: whatever
    /// was computed from it may be wrong, so tools call this before they commit an output.
    public func verifyUnchanged() throws {
        guard let opened, path != "-" else { return }
        var now = stat()
        guard descriptor < 0 || fstat(descriptor, &now) == 0 else { return }
        if descriptor >= 0 && (now.st_size != opened.st_size || now.st_mtim.tv_sec != opened.st_mtim.tv_sec
                               || now.st_mtim.tv_nsec != opened.st_mtim.tv_nsec) {
            throw CheckpointError(file: name, "input changed while being read")
        }
        var current = stat()
        guard stat(path, &current) == 0, current.st_dev == opened.st_dev, current.st_ino == opened.st_ino else {
            throw CheckpointError(file: name, "input was replaced or removed while being read")
        }
    }

    /// Up to `count` first bytes, without consuming them.
    public func peek(_ count: Int) throws -> [UInt8] {
        switch kind {
        case .mapped(let file): return Array(file.bytes.prefix(count))
        case .stream(let reader): return try reader.peek(count)
        }
    }

    /// Every byte of the input (for small inputs such as texts; a pipe is read to its end).
    public func readAll() throws -> [UInt8] {
        switch kind {
        case .mapped(let file): return Array(file.bytes)
        case .stream(let reader):
            var out: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = try chunk.withUnsafeMutableBytes { try reader.readSome(into: $0) }
                if n == 0 { return out }
                out += chunk[0..<n]
            }
        }
    }

    /// The whole input as text; an error names the input when it is not valid UTF-8.
    public func readText() throws -> String {
        guard let text = String(validating: try readAll(), as: UTF8.self) else {
            throw CheckpointError(file: name, "text is not valid UTF-8")
        }
        return text
    }

    /// True for the .nz container's magic.
    public func isNZ() throws -> Bool { try peek(4) == NZFormat.magic }

    /// The folder of the path (for files that name other files, like a shard index).
    var directory: String {
        guard path != "-", let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
