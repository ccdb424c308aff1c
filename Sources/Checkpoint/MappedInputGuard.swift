#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A memory-mapped input that shrinks while it is read (truncated by another process) makes the kernel
/// send SIGBUS on the next access. This turns that into the tools' usual one-line error naming the file,
/// removes unfinished outputs and exits 1, instead of dying with a bus error.
public enum MappedInputGuard {
    private static let capacity = 16
    /// The last `capacity` mapped ranges (a ring) and the message to print for each; written before a
    /// mapping is used, read only by the signal handler.
    nonisolated(unsafe) private static var ranges = [(start: UInt, end: UInt, message: UnsafeMutablePointer<CChar>?)](repeating: (0, 0, nil), count: capacity)
    nonisolated(unsafe) private static var count = 0
    nonisolated(unsafe) private static var toolName = "tool"

    /// Installs the SIGBUS handler; `toolName` starts the messages.
    public static func install(toolName: String) {
        self.toolName = toolName
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = { _, info, _ in
            let address = UInt(bitPattern: info?.pointee._sifields._sigfault.si_addr)
            // Newest first: an address may have been mapped again after an older input was unmapped.
            var message: UnsafeMutablePointer<CChar>?
            var k = MappedInputGuard.count
            while k > max(0, MappedInputGuard.count - MappedInputGuard.capacity) && message == nil {
                k -= 1
                let range = MappedInputGuard.ranges[k % MappedInputGuard.capacity]
                if address >= range.start && address < range.end { message = range.message }
            }
            if let message {
                _ = Glibc.write(STDERR_FILENO, message, strlen(message))
                AtomicFile.removeAllPending()
                _exit(1)
            }
            // Not one of our inputs: a real bus error; die of it.
            signal(SIGBUS, SIG_DFL)
            raise(SIGBUS)
        }
        action.sa_flags = SA_SIGINFO
        sigaction(SIGBUS, &action, nil)
    }

    /// Registers a mapping of the input `name`.
    static func register(_ bytes: UnsafeRawBufferPointer, name: String) {
        guard let base = bytes.baseAddress else { return }
        let text = "\(toolName): \(name): input changed while being read (it shrank)\n"
        let slot = count % capacity
        let old = ranges[slot].message
        ranges[slot] = (UInt(bitPattern: base), UInt(bitPattern: base) + UInt(bytes.count), strdup(text))
        free(old)
        count += 1
    }
}
