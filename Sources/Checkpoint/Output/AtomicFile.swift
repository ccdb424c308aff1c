#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// An output file that appears complete or not at all: bytes go to a temporary file in the target's
/// folder, which is renamed over the target only by `commit()`. Until then the temporary file is
/// registered so that a signal handler can remove it (`AtomicFile.removeAllPending()`).
public final class AtomicFile: ByteSink {
    /// The final path.
    public let path: String
    private let temporaryPath: String
    private let sink: FileDescriptorSink
    private var fd: Int32
    private var finished = false

    /// Temporary files not yet committed or discarded.
    private static let pending = Mutex<[String]>([])

    /// Creates the temporary file. Refuses an existing target unless `overwrite`.
    public init(path: String, overwrite: Bool) throws {
        self.path = path
        if !overwrite && access(path, F_OK) == 0 {
            throw CheckpointError(file: path, "already exists; use -f to overwrite")
        }
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var template = Array((folder + "." + base + ".tmp-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw CheckpointError(file: path, "cannot create output: \(systemErrorMessage())") }
        fchmod(descriptor, 0o644 & ~Self.umaskValue)
        fd = descriptor
        temporaryPath = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        sink = FileDescriptorSink(fd: descriptor, name: path)
        Self.pending.withLock { $0.append(temporaryPath) }
    }

    deinit { discard() }

    public var bytesWritten: Int { sink.bytesWritten }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try sink.write(bytes)
    }

    /// Flushes, syncs and renames the temporary file over the target.
    public func commit() throws {
        guard !finished else { return }
        do {
            try sink.flush()
            guard fsync(fd) == 0 else { throw CheckpointError(file: path, "cannot sync output: \(systemErrorMessage())") }
            guard close(fd) == 0 else { throw CheckpointError(file: path, "cannot close output: \(systemErrorMessage())") }
            fd = -1
            try Self.pending.withLock { list in
                guard rename(temporaryPath, path) == 0 else {
                    throw CheckpointError(file: path, "cannot rename output into place: \(systemErrorMessage())")
                }
                list.removeAll { $0 == temporaryPath }
            }
            finished = true
        } catch {
            discard()
            throw error
        }
    }

    /// Removes the temporary file; the target is left as it was.
    public func discard() {
        guard !finished else { return }
        finished = true
        if fd >= 0 { close(fd) }
        Self.pending.withLock { list in
            unlink(temporaryPath)
            list.removeAll { $0 == temporaryPath }
        }
    }

    /// Removes every uncommitted temporary file (for signal handlers, before exiting).
    public static func removeAllPending() {
        pending.withLock { list in
            for path in list { unlink(path) }
            list.removeAll()
        }
    }

    private static let umaskValue: mode_t = {
        let value = umask(0)
        umask(value)
        return value
    }()
}
