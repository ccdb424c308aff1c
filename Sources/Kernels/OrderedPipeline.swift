import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Items submitted in order, worked on by several threads at once, and delivered in the order they were
/// submitted, with at most `window` of them submitted but not yet delivered: nzip's and nunzip's chunks.
///
/// There is no barrier: a thread that finishes an item takes the next one, whichever item is slowest,
/// so a window of a few items a thread keeps every thread busy, and the buffers of delivered items are
/// reused while they are still in the cache. (Batches that end in a barrier needed 32 chunks a thread
/// to keep two threads busy, and then every chunk's buffers were new to the cache.)
///
/// `submit` and then `finish` (or, on failure, `cancel`) are called from one thread, which also works
/// and delivers while it waits; `threads - 1` more threads are started. `work` runs concurrently on
/// different items; `deliver` runs on one thread at a time, in order. With one thread every item is
/// worked and delivered as it is submitted.
public final class OrderedPipeline<Item, Output>: @unchecked Sendable {
    private enum Slot {
        case empty
        case submitted(Item)
        case working
        case done(Output)
    }

    private let work: (Item) -> Output
    private let deliver: (Output) throws -> Void
    private let threads: Int
    private var slots: [Slot]
    /// Items submitted, claimed for work, and delivered, counted from the start.
    private var submitted = 0, claimed = 0, delivered = 0
    private var delivering = false
    private var finished = false
    private var failure: Error?
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let helpers = DispatchGroup()

    /// A pipeline that runs `work` on `threads` threads and hands each output to `deliver`. Call
    /// `finish` or `cancel` before letting the pipeline go: until then other threads use it.
    public init(threads: Int, window: Int, work: @escaping (Item) -> Output, deliver: @escaping (Output) throws -> Void) {
        self.threads = max(1, threads)
        self.work = work
        self.deliver = deliver
        slots = Array(repeating: .empty, count: max(1, window))
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
        // The helpers hold the pipeline unretained: `finish` and `cancel` wait for them, and then nothing
        // but the owner refers to it (callers that pass non-escaping closures check exactly that).
        let pipeline = Unmanaged.passUnretained(self)
        for _ in 1..<self.threads {
            DispatchQueue.global().async(group: helpers) { pipeline.takeUnretainedValue().help(untilRoomForOneMore: false) }
        }
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        changed.deallocate()
    }

    /// Adds the next item, once the window has room for it; meanwhile this thread works and delivers.
    /// Throws the first error `deliver` threw (and then the pipeline takes nothing more).
    public func submit(_ item: Item) throws {
        if threads == 1 {
            try deliver(work(item))
            return
        }
        help(untilRoomForOneMore: true)
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if let failure { throw failure }
        slots[submitted % slots.count] = .submitted(item)
        submitted += 1
        pthread_cond_broadcast(changed)
    }

    /// Works and delivers until every submitted item is delivered, then waits for the other threads.
    /// Throws the first error `deliver` threw.
    public func finish() throws {
        guard threads > 1 else { return }
        pthread_mutex_lock(mutex)
        finished = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
        help(untilRoomForOneMore: false)
        helpers.wait()
        if let failure { throw failure }
    }

    /// Stops taking items and waits for the other threads (each finishes the item it is working on):
    /// for a caller that fails before `finish`. Nothing more is delivered.
    public func cancel() {
        guard threads > 1 else { return }
        pthread_mutex_lock(mutex)
        if failure == nil { failure = Cancelled() }
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
        helpers.wait()
    }

    private struct Cancelled: Error {}

    /// Delivers, works, or waits, until the window has room for one more item (the submitting thread)
    /// or, with `finished`, everything is delivered (or something failed).
    private func help(untilRoomForOneMore submitting: Bool) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while failure == nil {
            if submitting && submitted - delivered < slots.count { return }
            if !delivering, delivered < submitted, case .done(let output) = slots[delivered % slots.count] {
                slots[delivered % slots.count] = .empty
                delivering = true
                pthread_mutex_unlock(mutex)
                var error: Error?
                do { try deliver(output) } catch let thrown { error = thrown }
                pthread_mutex_lock(mutex)
                delivering = false
                delivered += 1
                if let error, failure == nil { failure = error }
                pthread_cond_broadcast(changed)
                continue
            }
            if claimed < submitted, case .submitted(let item) = slots[claimed % slots.count] {
                let index = claimed % slots.count
                slots[index] = .working
                claimed += 1
                pthread_mutex_unlock(mutex)
                let output = work(item)
                pthread_mutex_lock(mutex)
                slots[index] = .done(output)
                pthread_cond_broadcast(changed)
                continue
            }
            if !submitting && finished && delivered == submitted { return }
            pthread_cond_wait(changed, mutex)
        }
        pthread_cond_broadcast(changed)
    }
}
