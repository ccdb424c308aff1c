#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole regular file: tensors are read in place, never copied whole.
public final class MappedFile: @unchecked Sendable {
    /// The mapped bytes (empty for an empty file).
    public let bytes: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer?

    /// Maps the open file descriptor `fd` (not closed here) of size `size`; `name` is used in errors.
    init(fd: Int32, size: Int, name: String) throws {
        if size == 0 {
            mapping = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), pointer != MAP_FAILED else {
            throw CheckpointError(file: name, "cannot map file: \(systemErrorMessage())")
        }
        madvise(pointer, size, MADV_SEQUENTIAL)
        mapping = pointer
        bytes = UnsafeRawBufferPointer(start: pointer, count: size)
        MappedInputGuard.register(bytes, name: name)
    }

    deinit {
        if let mapping { munmap(mapping, bytes.count) }
    }

    private var releasedUpTo = 0

    /// Tells the kernel that bytes before `offset` (less a margin) will not be needed soon, so that one
    /// pass over a file larger than memory keeps a small resident set. Only a hint: a later access to
    /// those bytes reads them again from the file.
    func release(before offset: Int) {
        let margin = 64 << 20
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let end = (offset - margin) / pageSize * pageSize
        guard let mapping, end - releasedUpTo >= margin else { return }
        madvise(mapping + releasedUpTo, end - releasedUpTo, MADV_DONTNEED)
        releasedUpTo = end
    }
}

/// The message for the current `errno`.
func systemErrorMessage(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
