import Kernels
import Synchronization
import XCTest

final class OrderedPipelineTests: XCTestCase {
    private struct Stop: Error {}

    /// Every item is delivered once, in submission order, for any thread count and window; no item is
    /// worked on before the window had room for it; with several threads, items are worked on at once.
    func testDeliversInOrderWithinTheWindow() throws {
        for threads in [1, 2, 4] {
            for window in [1, 3, 8] {
                let deliveredCount = Atomic<Int>(0), inFlight = Atomic<Int>(0), mostInFlight = Atomic<Int>(0)
                let outOfWindow = Atomic<Int>(0)
                var delivered: [Int] = []
                let pipeline = OrderedPipeline<Int, Int>(threads: threads, window: window, work: { item in
                    if item - deliveredCount.load(ordering: .sequentiallyConsistent) >= window { outOfWindow.add(1, ordering: .relaxed) }
                    let now = inFlight.add(1, ordering: .sequentiallyConsistent).newValue
                    mostInFlight.max(now, ordering: .relaxed)
                    usleep(UInt32(item % 7) * 100)
                    inFlight.subtract(1, ordering: .sequentiallyConsistent)
                    return item * 2
                }, deliver: { output in
                    delivered.append(output / 2)
                    deliveredCount.add(1, ordering: .sequentiallyConsistent)
                })
                for item in 0..<200 { try pipeline.submit(item) }
                try pipeline.finish()
                XCTAssertEqual(delivered, Array(0..<200), "threads \(threads) window \(window)")
                XCTAssertEqual(outOfWindow.load(ordering: .relaxed), 0, "threads \(threads) window \(window): worked outside the window")
                if threads == 1 || window == 1 {
                    XCTAssertEqual(mostInFlight.load(ordering: .relaxed), 1)
                } else {
                    XCTAssertGreaterThan(mostInFlight.load(ordering: .relaxed), 1, "threads \(threads) window \(window): items overlap")
                }
            }
        }
    }

    /// The first error `deliver` throws comes out of `submit` or `finish`, and nothing after the failed
    /// item is delivered.
    func testADeliveryErrorStopsThePipeline() {
        for threads in [1, 2] {
            var delivered: [Int] = []
            let pipeline = OrderedPipeline<Int, Int>(threads: threads, window: 4, work: { $0 }, deliver: { item in
                if item == 50 { throw Stop() }
                delivered.append(item)
            })
            var thrown: Error?
            do {
                for item in 0..<200 { try pipeline.submit(item) }
                try pipeline.finish()
            } catch {
                thrown = error
                pipeline.cancel()
            }
            XCTAssertTrue(thrown is Stop, "threads \(threads)")
            XCTAssertEqual(delivered, Array(0..<50), "threads \(threads)")
        }
    }

    /// `cancel` returns once the other threads have stopped: nothing is delivered after it.
    func testCancelStopsDelivering() throws {
        let deliveries = Atomic<Int>(0)
        let pipeline = OrderedPipeline<Int, Int>(threads: 2, window: 4, work: { item in usleep(500); return item },
                                                 deliver: { _ in deliveries.add(1, ordering: .relaxed) })
        for item in 0..<6 { try pipeline.submit(item) }
        pipeline.cancel()
        let afterCancel = deliveries.load(ordering: .relaxed)
        usleep(20_000)
        XCTAssertEqual(deliveries.load(ordering: .relaxed), afterCancel)
        XCTAssertLessThanOrEqual(afterCancel, 6)
    }
}
