import Checkpoint
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends lines to a log file as they come (flushed per line, so `tail -f` follows a run).
public final class LineLog {
    private let file: UnsafeMutablePointer<FILE>
    public let path: String

    /// Opens `path` for writing, truncating it unless `append` (a resumed run continues its log).
    public init(path: String, append: Bool) throws {
        guard let file = fopen(path, append ? "a" : "w") else {
            throw CheckpointError(file: path, "cannot open for writing: \(String(cString: strerror(errno)))")
        }
        self.file = file
        self.path = path
    }

    public func write(_ line: String) throws {
        guard fputs(line + "\n", file) >= 0, fflush(file) == 0 else {
            throw CheckpointError(file: path, "cannot write: \(String(cString: strerror(errno)))")
        }
    }

    deinit { fclose(file) }
}

/// The largest resident set of this process so far, in bytes (what the tools report as peak RSS).
public var peakResidentBytes: Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024
}
