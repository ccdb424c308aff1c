import Dispatch

/// Fork-join parallelism over an index range with a fixed number of threads (`-T`).
public enum Parallel {
    /// The number of threads `-T 0` means: all cores.
    public static var coreCount: Int { System.activeProcessorCount }

    /// Runs `body(i)` for every i in 0..<count on at most `threads` threads and returns when all are done.
    /// `body` must be safe to call concurrently for different indices.
    public static func forEach(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        let workers = max(1, min(threads, count))
        if workers == 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let box = UncheckedBox(escapable)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var i = worker
                while i < count {
                    box.value(i)
                    i += workers
                }
            }
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
