import Dispatch
import Synchronization

/// Fork-join parallelism over an index range with a fixed number of threads (`-T`).
public enum Parallel {
    /// The number of threads `-T 0` means: all cores.
    public static var coreCount: Int { System.activeProcessorCount }

    /// Runs `body(i)` for every i in 0..<count on at most `threads` threads and returns when all are done.
    /// Each thread claims the next index when it is free, so unequal items (chunks of different sizes)
    /// keep every thread busy, and index 0 is always claimed first. `body` must be safe to call
    /// concurrently for different indices.
    public static func forEach(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        let workers = max(1, min(threads, count))
        if workers == 1 {
            for i in 0..<count { body(i) }
            return
        }
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { escapable in
            let box = UncheckedBox(escapable)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if i >= count { break }
                    box.value(i)
                }
            }
        }
    }
}

extension Parallel {
    /// Cuts 0..<count into one contiguous range per thread (at most `threads`, each at least `minimum`
    /// long) and runs `body` on each in parallel: for elementwise loops over large buffers.
    public static func forEachRange(_ count: Int, threads: Int, minimum: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
        let parts = max(1, min(threads, count / max(1, minimum)))
        guard parts > 1 else { return body(0..<count) }
        let size = (count + parts - 1) / parts
        forEach(parts, threads: parts) { part in
            let start = part * size
            if start < count { body(start..<min(count, start + size)) }
        }
    }
}

/// Lets a non-Sendable closure cross into `concurrentPerform`, whose callers guarantee disjoint work.
private final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

#if canImport(Glibc)
import Glibc
private enum System {
    static var activeProcessorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
#else
import Foundation
private enum System {
    static var activeProcessorCount: Int { ProcessInfo.processInfo.activeProcessorCount }
}
#endif
