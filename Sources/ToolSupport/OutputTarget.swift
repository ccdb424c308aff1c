import Checkpoint
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a tool's binary output goes: a file written atomically (temporary file, renamed at the end), or
/// standard output. Binary output is never written to a terminal unless forced.
public final class OutputTarget {
    public let sink: ByteSink
    /// The name used in messages: the path, or "<stdout>".
    public let name: String
    private let file: AtomicFile?
    private let stdout: FileDescriptorSink?

    /// Standard output (refused when it is a terminal, unless `force`).
    public static func standardOutput(force: Bool) throws -> OutputTarget {
        if isatty(STDOUT_FILENO) == 1 && !force {
            throw ToolError("<stdout>: refusing to write binary data to a terminal (use -o FILE, redirect, or -f)")
        }
        let sink = FileDescriptorSink.standardOutput()
        return OutputTarget(sink: sink, name: "<stdout>", file: nil, stdout: sink)
    }

    /// A file at `path`; an existing file is replaced only when `force`.
    public static func file(_ path: String, force: Bool) throws -> OutputTarget {
        let file = try AtomicFile(path: path, overwrite: force)
        return OutputTarget(sink: file, name: path, file: file, stdout: nil)
    }

    private init(sink: ByteSink, name: String, file: AtomicFile?, stdout: FileDescriptorSink?) {
        self.sink = sink
        self.name = name
        self.file = file
        self.stdout = stdout
    }

    /// True for a file (which can be verified and renamed), false for standard output.
    public var isFile: Bool { file != nil }

    /// Completes the output: flushes standard output, or syncs and renames the file into place.
    public func commit() throws {
        try stdout?.flush()
        try file?.commit()
    }

    /// Abandons the output: a file's temporary copy is removed and nothing is left behind.
    public func discard() { file?.discard() }
}

/// Paths the tools must never write over.
public enum InputProtection {
    /// Refuses an output path that names the same file as an input.
    public static func check(output: String, against input: String) throws {
        guard input != "-" else { return }
        var a = stat(), b = stat()
        if stat(output, &a) == 0 && stat(input, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino {
            throw ToolError("\(output): is the input file; refusing to overwrite it")
        }
    }

    /// Removes an input after its output is complete and verified (`--rm`).
    public static func remove(_ input: String) throws {
        guard input != "-" else { return }
        guard unlink(input) == 0 else { throw ToolError("\(input): cannot remove: \(String(cString: strerror(errno)))") }
    }
}
