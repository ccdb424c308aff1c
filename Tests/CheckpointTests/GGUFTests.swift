import Checkpoint
import Foundation
import TestSupport
import XCTest

/// Builds GGUF bytes by hand (independently of the library's serializer) for parser tests.
struct GGUFBytes {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }
    mutating func header(version: UInt32 = 3, tensors: UInt64, keys: UInt64) {
        bytes += Array("GGUF".utf8); u32(version); u64(tensors); u64(keys)
    }
    mutating func kvU32(_ key: String, _ v: UInt32) { string(key); u32(4); u32(v) }
    mutating func tensor(_ name: String, ne: [UInt64], type: UInt32, offset: UInt64) {
        string(name); u32(UInt32(ne.count)); for n in ne { u64(n) }; u32(type); u64(offset)
    }
    mutating func pad(_ alignment: Int = 32) { while bytes.count % alignment != 0 { bytes.append(0) } }
}

final class GGUFTests: XCTestCase {
    private func allValueKinds() -> [(key: String, value: GGUFValue)] {
        [
            ("general.architecture", .text("llama")),
            ("u8", .uint8(200)), ("i8", .int8(-5)), ("u16", .uint16(60000)), ("i16", .int16(-300)),
            ("u32", .uint32(4_000_000_000)), ("i32", .int32(-7)), ("f32", .float32(bits: Float(0.1).bitPattern)),
            ("bool", .bool(true)), ("u64", .uint64(1 << 60)), ("i64", .int64(-(1 << 60))), ("f64", .float64(bits: (1e-300).bitPattern)),
            ("strings", .array(elementType: .string, [.text("a"), .text("ü"), .text("")])),
            ("nested", .array(elementType: .array, [.array(elementType: .int32, [.int32(1), .int32(2)]), .array(elementType: .int32, [])])),
            ("general.alignment", .uint32(64)),
        ]
    }

    func testWriteReadRoundTripIsExact() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("m.gguf").path
        let tensors: [(name: String, type: TensorType, shape: [Int], bytes: [UInt8])] = [
            ("a", .f32, [2, 3], try Fixtures.encoded([1, 2, 3, 4, 5, 6], as: .f32)),
            ("b", .q8_0, [2, 32], Fixtures.randomBytes(68, seed: 2).enumerated().map { $0.offset % 34 == 1 ? 0x3C : $0.element }),
            ("c", .bf16, [5], try Fixtures.encoded([1, 2, 3, 4, 5], as: .bf16)),
        ]
        try Fixtures.writeGGUF(tensors, metadata: allValueKinds(), to: path)
        let checkpoint = try Checkpoint.open(path)
        let header = try XCTUnwrap(checkpoint.ggufHeader)
        XCTAssertEqual(header.alignment, 64)
        XCTAssertEqual(header.metadata.count, allValueKinds().count)
        for (read, written) in zip(header.metadata, allValueKinds()) {
            XCTAssertEqual(read.key, written.key)
            XCTAssertEqual(read.value, written.value, read.key)
        }
        XCTAssertEqual(checkpoint.tensors.map(\.shape), [[2, 3], [2, 32], [5]])
        XCTAssertEqual(try checkpoint.floats(of: 0), [1, 2, 3, 4, 5, 6])
        for (index, tensor) in tensors.enumerated() { XCTAssertEqual(Array(try checkpoint.bytes(of: index)), tensor.bytes) }
        XCTAssertEqual(checkpoint.tensors[1].dataOffset % 64, 0)
        try Fixtures.assertRewritesIdentically(checkpoint, path, in: dir)
    }

    func testReadsVersion2AndStreams() throws {
        var g = GGUFBytes()
        g.header(version: 2, tensors: 2, keys: 1)
        g.kvU32("x", 7)
        g.tensor("t0", ne: [2], type: 0, offset: 0)
        g.tensor("t1", ne: [1], type: 0, offset: 32)
        g.pad()
        g.bytes += [0, 0, 128, 63, 0, 0, 0, 64] + [UInt8](repeating: 0, count: 24) + [0, 0, 64, 64]
        let dir = try TestSupport.temporaryDirectory(self)
        let path = try Fixtures.write(g.bytes, named: "v2.gguf", in: dir)
        let checkpoint = try Checkpoint.open(path)
        XCTAssertEqual(checkpoint.ggufHeader?.version, 2)
        XCTAssertEqual(try checkpoint.floats(of: 1), [3])
        XCTAssertEqual(checkpoint.ggufHeader?.padsLastTensor, false)
        // The same file through a pipe.
        let fifo = dir.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let feeder = Thread { _ = try? TestSupport.run("/bin/sh", ["-c", "cat '\(path)' > '\(fifo)'"]) }
        feeder.start()
        let streamed = try Checkpoint.open(fifo)
        var values: [[UInt8]] = []
        try streamed.streamTensors { values.append(Array($0.bytes)) }
        XCTAssertEqual(values, [[0, 0, 128, 63, 0, 0, 0, 64], [0, 0, 64, 64]])
    }

    // MARK: what llama.cpp rejects

    private func rejects(_ build: (inout GGUFBytes) -> Void, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        var g = GGUFBytes()
        build(&g)
        let dir = try TestSupport.temporaryDirectory(self)
        Fixtures.assertRejects(try Fixtures.write(g.bytes, named: "bad.gguf", in: dir), fragment, file: file, line: line)
    }

    /// A valid file with one tensor, with the tensor info written by `tensorInfo`.
    private func oneTensor(_ g: inout GGUFBytes, _ tensorInfo: (inout GGUFBytes) -> Void) {
        g.header(tensors: 1, keys: 0)
        tensorInfo(&g)
        g.pad()
        g.bytes += [UInt8](repeating: 0, count: 64)
    }

    func testRejectsWrongMagic() throws { try rejects({ $0.bytes += Array("GGUX".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0, count: 16) }, "unrecognised format") }
    func testRejectsVersion1() throws { try rejects({ $0.header(version: 1, tensors: 0, keys: 0) }, "unsupported GGUF version 1") }
    func testRejectsVersion0() throws { try rejects({ $0.header(version: 0, tensors: 0, keys: 0) }, "unsupported GGUF version 0") }
    func testRejectsVersion4() throws { try rejects({ $0.header(version: 4, tensors: 0, keys: 0) }, "unsupported GGUF version 4") }
    func testRejectsBigEndian() throws { try rejects({ $0.header(version: UInt32(3).byteSwapped, tensors: 0, keys: 0) }, "big-endian") }
    func testRejectsTensorCountThatCannotFit() throws { try rejects({ $0.header(tensors: 1 << 40, keys: 0) }, "cannot fit") }
    func testRejectsKeyCountThatCannotFit() throws { try rejects({ $0.header(tensors: 0, keys: UInt64.max) }, "cannot fit") }
    func testRejectsHugeString() throws {
        try rejects({ g in g.header(tensors: 0, keys: 1); g.u64(1 << 40); g.bytes += [UInt8](repeating: 0, count: 32) }, "limit 1 GiB")
    }
    func testRejectsStringPastEndOfFile() throws {
        try rejects({ g in g.header(tensors: 0, keys: 1); g.u64(1000); g.bytes += [UInt8](repeating: 0x61, count: 40) }, "past the end")
    }
    func testRejectsEmptyKey() throws { try rejects({ g in g.header(tensors: 0, keys: 1); g.kvU32("", 1) }, "empty") }
    func testRejectsDuplicateKey() throws { try rejects({ g in g.header(tensors: 0, keys: 2); g.kvU32("k", 1); g.kvU32("k", 2) }, "duplicate metadata key 'k'") }
    func testRejectsBadValueType() throws { try rejects({ g in g.header(tensors: 0, keys: 1); g.string("k"); g.u32(13); g.u32(0) }, "invalid value type 13") }
    func testRejectsBadArrayElementType() throws { try rejects({ g in g.header(tensors: 0, keys: 1); g.string("k"); g.u32(9); g.u32(99); g.u64(0) }, "invalid array element type") }
    func testRejectsArrayThatCannotFit() throws { try rejects({ g in g.header(tensors: 0, keys: 1); g.string("k"); g.u32(9); g.u32(5); g.u64(1 << 50) }, "cannot fit") }
    func testRejectsDeeplyNestedArrays() throws {
        try rejects({ g in
            g.header(tensors: 0, keys: 1); g.string("k"); g.u32(9)
            for _ in 0..<20 { g.u32(9); g.u64(1) }
            g.u32(4); g.u64(0)
        }, "nested deeper")
    }
    func testRejectsAlignmentNotPowerOfTwo() throws { try rejects({ g in g.header(tensors: 0, keys: 1); g.kvU32("general.alignment", 48) }, "not a power of two") }
    func testRejectsAlignmentOfWrongType() throws {
        try rejects({ g in g.header(tensors: 0, keys: 1); g.string("general.alignment"); g.u32(10); g.u64(32) }, "not u32")
    }
    func testRejectsLongTensorName() throws {
        try rejects({ g in self.oneTensor(&g) { $0.tensor(String(repeating: "n", count: 64), ne: [1], type: 0, offset: 0) } }, "longer than 63")
    }
    func testRejectsDuplicateTensorName() throws {
        try rejects({ g in
            g.header(tensors: 2, keys: 0)
            g.tensor("t", ne: [1], type: 0, offset: 0); g.tensor("t", ne: [1], type: 0, offset: 32)
            g.pad(); g.bytes += [UInt8](repeating: 0, count: 64)
        }, "duplicate tensor name 't'")
    }
    func testRejectsTooManyDimensions() throws { try rejects({ g in self.oneTensor(&g) { $0.tensor("t", ne: [1, 1, 1, 1, 1], type: 0, offset: 0) } }, "5 dimensions") }
    func testRejectsNegativeDimension() throws { try rejects({ g in self.oneTensor(&g) { $0.tensor("t", ne: [UInt64.max], type: 0, offset: 0) } }, "negative dimension") }
    func testRejectsElementCountOverflow() throws { try rejects({ g in self.oneTensor(&g) { $0.tensor("t", ne: [1 << 40, 1 << 40], type: 0, offset: 0) } }, "overflow") }
    func testRejectsUnknownType() throws { try rejects({ g in self.oneTensor(&g) { $0.tensor("t", ne: [1], type: 77, offset: 0) } }, "unknown ggml type 77") }
    func testRejectsRowNotMultipleOfBlock() throws { try rejects({ g in self.oneTensor(&g) { $0.tensor("t", ne: [31], type: 2, offset: 0) } }, "not a multiple") }
    func testRejectsWrongOffset() throws { try rejects({ g in self.oneTensor(&g) { $0.tensor("t", ne: [1], type: 0, offset: 32) } }, "data offset 32, expected 0") }
    func testRejectsTruncatedData() throws {
        try rejects({ g in g.header(tensors: 1, keys: 0); g.tensor("t", ne: [64], type: 0, offset: 0); g.pad(); g.bytes += [0, 0, 0] }, "truncated")
    }
    func testRejectsTruncatedHeader() throws { try rejects({ g in g.header(tensors: 1, keys: 0); g.string("t"); g.u32(1); g.u64(4); g.u32(0); g.bytes += [0, 0, 0] }, "file ends inside") }
}

extension GGUFTests {
    /// Found by fuzz-gguf: ne = [0, 2^62, 2^62] is a valid empty tensor, but its row-major shape
    /// [2^62, 2^62, 0] overflowed when multiplied in that order.
    func testEmptyTensorWithHugeOtherDimensions() throws {
        var g = GGUFBytes()
        g.header(tensors: 1, keys: 0)
        g.tensor("t", ne: [0, 1 << 62, 1 << 62], type: 0, offset: 0)
        g.pad()
        let dir = try TestSupport.temporaryDirectory(self)
        let checkpoint = try Checkpoint.open(try Fixtures.write(g.bytes, named: "empty.gguf", in: dir))
        XCTAssertEqual(checkpoint.tensors[0].elementCount, 0)
        XCTAssertEqual(try checkpoint.floats(of: 0), [])
    }
}
