import Checkpoint
import Foundation
import TestSupport
import XCTest

final class SafetensorsTests: XCTestCase {
    private let goodTensor = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#

    func testReadsMetadataShapesAndData() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let json = #"{"__metadata__":{"format":"pt","b":"x"},"b":{"dtype":"F16","shape":[3],"data_offsets":[8,14]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let data = try Fixtures.encoded([1.5, -2], as: .f32) + Fixtures.encoded([0.5, 1, 65504], as: .f16)
        let path = try Fixtures.write(Fixtures.safetensorsBytes(json: json, data: data), named: "m.safetensors", in: dir)
        let checkpoint = try Checkpoint.open(path)
        XCTAssertEqual(checkpoint.format, .safetensors)
        XCTAssertEqual(checkpoint.tensors.map(\.name), ["b", "a"], "listed in header order")
        XCTAssertEqual(checkpoint.dataOrder, [1, 0])
        XCTAssertEqual(checkpoint.metadata.map { $0.key }, ["format", "b"])
        XCTAssertEqual(checkpoint.metadata[0].value.stringValue, "pt")
        XCTAssertEqual(try checkpoint.floats(of: 0), [0.5, 1, 65504])
        XCTAssertEqual(try checkpoint.floats(of: 1), [1.5, -2])
        XCTAssertEqual(checkpoint.parameterCount, 5)
    }

    func testWriteThenReadRoundTripsEveryDtype() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let values: [Float] = [0, -0.0, 1, -1, 2, 96, -3, 7]
        let types: [TensorType] = [.f64, .f32, .f16, .bf16, .f8e4m3, .f8e5m2, .i8, .i16, .i32, .i64, .u8, .u16, .u32, .u64, .bool]
        let tensors = try types.map { type -> (String, TensorType, [Int], [UInt8]) in
            let input = type == .bool ? values.map { $0 == 0 ? 0 : 1 } : type.safetensorsName!.hasPrefix("U") ? values.map(abs) : values
            return ("t_\(type)", type, [2, 4], try Fixtures.encoded(input, as: type))
        }
        let path = dir.appendingPathComponent("all.safetensors").path
        try Fixtures.writeSafetensors(tensors.map { ($0.0, $0.1, $0.2, $0.3) }, metadata: [("k", "v")], to: path)
        let checkpoint = try Checkpoint.open(path)
        XCTAssertEqual(checkpoint.tensors.count, types.count)
        for (index, type) in types.enumerated() {
            XCTAssertEqual(checkpoint.tensors[index].type, type)
            XCTAssertEqual(checkpoint.tensors[index].shape, [2, 4])
            XCTAssertEqual(Array(try checkpoint.bytes(of: index)), tensors[index].3)
            let decoded = try checkpoint.floats(of: index)
            let expected = type == .bool ? values.map { $0 == 0 ? 0 : 1 } : type.safetensorsName!.hasPrefix("U") ? values.map(abs) : values
            XCTAssertEqual(decoded.map { $0 == 0 ? 0 : $0 }, expected.map { $0 == 0 ? 0 : $0 }, "\(type)")
        }
        // Read then write again: the same bytes.
        try Fixtures.assertRewritesIdentically(checkpoint, path, in: dir)
    }

    func testStreamsFromAPipe() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let values = (0..<5000).map { Float($0) * 0.25 }
        let path = dir.appendingPathComponent("big.safetensors").path
        try Fixtures.writeSafetensors([("a", .bf16, [5000], try Fixtures.encoded(values, as: .bf16)),
                                       ("b", .f32, [50, 100], try Fixtures.encoded(values, as: .f32))], metadata: nil, to: path)
        let fifo = dir.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let feeder = Thread { _ = try? TestSupport.run("/bin/sh", ["-c", "cat '\(path)' > '\(fifo)'"]) }
        feeder.start()
        let checkpoint = try Checkpoint.open(fifo)
        XCTAssertFalse(checkpoint.isRandomAccess)
        var received: [Int: [UInt8]] = [:]
        try checkpoint.streamTensors(chunkBytes: 1000) { chunk in
            XCTAssertEqual(chunk.byteOffset, received[chunk.tensorIndex, default: []].count)
            received[chunk.tensorIndex, default: []] += Array(chunk.bytes)
        }
        XCTAssertEqual(received[0], try Fixtures.encoded(values, as: .bf16))
        XCTAssertEqual(received[1], try Fixtures.encoded(values, as: .f32))
        XCTAssertThrowsError(try checkpoint.streamTensors { _ in }, "a pipe is read once")
    }

    func testShardedCheckpointOpensAsOne() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        try Fixtures.writeSafetensors([("a", .f32, [2], try Fixtures.encoded([1, 2], as: .f32))], metadata: nil,
                                      to: dir.appendingPathComponent("model-00001-of-00002.safetensors").path)
        try Fixtures.writeSafetensors([("b", .f32, [1], try Fixtures.encoded([3], as: .f32)),
                                       ("c", .bf16, [2], try Fixtures.encoded([4, 5], as: .bf16))], metadata: nil,
                                      to: dir.appendingPathComponent("model-00002-of-00002.safetensors").path)
        let index = #"{"metadata":{"total_size":18},"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#
        let indexPath = try Fixtures.write(Array(index.utf8), named: "model.safetensors.index.json", in: dir)
        for path in [indexPath, dir.path] {
            let checkpoint = try Checkpoint.open(path)
            XCTAssertEqual(checkpoint.format, .shardedSafetensors)
            XCTAssertEqual(checkpoint.tensors.map(\.name), ["a", "b", "c"])
            XCTAssertEqual(try checkpoint.floats(of: 2), [4, 5])
            XCTAssertEqual(checkpoint.metadata.first?.value.stringValue, "18")
            var seen: [String] = []
            try checkpoint.streamTensors { seen.append(checkpoint.tensors[$0.tensorIndex].name) }
            XCTAssertEqual(seen, ["a", "b", "c"])
        }
        let bad = #"{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}}"#
        let badPath = try Fixtures.write(Array(bad.utf8), named: "bad.index.json", in: dir)
        XCTAssertThrowsError(try Checkpoint.open(badPath)) { error in
            XCTAssertTrue("\(error)".contains("'b'"), "\(error)")
        }
        let escaping = #"{"weight_map":{"a":"../x.safetensors"}}"#
        Fixtures.assertRejects(try Fixtures.write(Array(escaping.utf8), named: "esc.json", in: dir), "not a file beside the index")
    }

    // MARK: every error the reference reader rejects

    private func rejects(_ bytes: [UInt8], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = try Fixtures.write(bytes, named: "bad.safetensors", in: dir)
        Fixtures.assertRejects(path, fragment, file: file, line: line)
    }

    private func rejects(json: String, data: [UInt8] = [UInt8](repeating: 0, count: 8), _ fragment: String,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        try rejects(Fixtures.safetensorsBytes(json: json, data: data), fragment, file: file, line: line)
    }

    func testRejectsFileShorterThanEightBytes() throws { try rejects([1, 0, 0], "too short") }

    func testRejectsHugeHeaderLength() throws {
        var bytes = withUnsafeBytes(of: UInt64(100_000_001).littleEndian) { Array($0) }
        bytes += Array("{}".utf8)
        try rejects(bytes, "exceeds the limit")
    }

    func testRejectsHeaderPastEndOfFile() throws {
        var bytes = withUnsafeBytes(of: UInt64(4096).littleEndian) { Array($0) }
        bytes += Array("{}      ".utf8)
        try rejects(bytes, "runs past the end")
    }

    func testRejectsNonUTF8Header() throws {
        try rejects(json: "{\"w\u{1}\":1}".replacingOccurrences(of: "\u{1}", with: "") , data: [], "not an object")
        var bytes = Fixtures.safetensorsBytes(json: #"{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        bytes[11] = 0xFF  // inside the name "a"
        try rejects(bytes, "UTF-8")
    }

    func testRejectsInvalidJSON() throws { try rejects(json: #"{"w":{"dtype":"F32",}"#, "invalid JSON") }
    func testRejectsUnknownDtype() throws { try rejects(json: #"{"w":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}}"#, "unknown dtype 'F17'") }
    func testRejectsLowercaseDtype() throws { try rejects(json: #"{"w":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}"#, "unknown dtype") }
    func testRejectsNegativeDimension() throws { try rejects(json: #"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, "not a non-negative integer") }
    func testRejectsFloatDimension() throws { try rejects(json: #"{"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#, "not a non-negative integer") }
    func testRejectsMissingField() throws { try rejects(json: #"{"w":{"dtype":"F32","data_offsets":[0,8]}}"#, "missing field 'shape'") }
    func testRejectsNonStringMetadata() throws { try rejects(json: #"{"__metadata__":{"n":1},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, "not a string") }
    func testRejectsGapInOffsets() throws {
        try rejects(json: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                    data: [UInt8](repeating: 0, count: 12), "gap")
    }
    func testRejectsOverlappingOffsets() throws {
        try rejects(json: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, "overlap")
    }
    func testRejectsEndBeforeBegin() throws { try rejects(json: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, "before begin") }
    func testRejectsSizeMismatch() throws { try rejects(json: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, "needs 12") }
    func testRejectsShapeOverflow() throws {
        try rejects(json: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}"#, "overflows")
    }
    func testRejectsTruncatedData() throws { try rejects(json: goodTensor, data: [0, 0, 0, 0], "truncated") }
    func testRejectsTrailingData() throws { try rejects(json: goodTensor, data: [UInt8](repeating: 0, count: 12), "trailing data") }
    func testRejectsDuplicateNames() throws {
        try rejects(json: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, "duplicate")
    }
    func testRejectsUnrecognisedFormat() throws { try rejects(Array("hello, world, this is text".utf8), "unrecognised format") }

    func testRejectsTruncatedPipe() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let full = Fixtures.safetensorsBytes(json: goodTensor, data: [UInt8](repeating: 0, count: 8))
        let path = try Fixtures.write(Array(full.dropLast(3)), named: "short.safetensors", in: dir)
        let fifo = dir.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let feeder = Thread { _ = try? TestSupport.run("/bin/sh", ["-c", "cat '\(path)' > '\(fifo)'"]) }
        feeder.start()
        Fixtures.assertRejects(fifo, "unexpected end of input")
    }
}
