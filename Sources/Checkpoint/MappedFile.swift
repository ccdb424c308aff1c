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
    }

    deinit {
        if let mapping { munmap(mapping, bytes.count) }
    }
}

/// The message for the current `errno`.
func systemErrorMessage(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
