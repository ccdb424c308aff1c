import Checkpoint
import XCTest
@testable import LM

/// The compressed parameter store gives back exactly what it was given, across the boundaries of the
/// pieces it compresses separately, and keeps exactly what `modify` wrote.
final class ParameterStoreTests: XCTestCase {
    func testCompressedPiecesRoundTripAndKeepUpdates() {
        let piece = ParameterStore.pieceValues
        let shapes = [[0], [1], [piece - 1], [piece], [2, piece / 2 + 3]]
        var generator = SystemRandomNumberGenerator()
        let tensors = shapes.enumerated().map { k, shape in
            FloatTensor(name: "t\(k)", shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -0.1...0.1, using: &generator) })
        }
        let store = ParameterStore(tensors, compressed: true)
        XCTAssertTrue(store.isCompressed)
        XCTAssertEqual(store.tensors().map(\.values), tensors.map(\.values))
        // A change in the last piece of the largest tensor, and its neighbours untouched.
        let last = shapes.count - 1
        let count = store.elementCount(last)
        store.modify(last) { $0[count - 1] = 42; $0[piece] = -7 }
        var expected = tensors[last].values
        expected[count - 1] = 42
        expected[piece] = -7
        XCTAssertEqual(store.tensors()[last].values, expected)
        XCTAssertEqual(store.tensors()[2].values, tensors[2].values)
        // A body that throws leaves the tensor as it was.
        struct Stop: Error {}
        XCTAssertThrowsError(try store.modify(2) { $0[0] = 1; throw Stop() })
        XCTAssertEqual(store.tensors()[2].values, tensors[2].values)
        XCTAssertLessThan(store.storedBytes, 4 * tensors.reduce(0) { $0 + $1.values.count })
    }
}
