import Checkpoint
import Foundation
import NeuZip
import TestSupport
import XCTest

/// The .nz container through the library: exact round trips, every kind of damage detected.
final class NZContainerTests: XCTestCase {
    /// Values with every special case: NaN with a payload, infinities, -0, subnormals, ordinary values.
    private func specialFloats(_ count: Int, seed: UInt64) -> [Float] {
        var generator = TestSupport.SeededGenerator(seed: seed)
        let specials: [Float] = [Float(bitPattern: 0x7FC0_1234), .infinity, -.infinity, -0.0, Float(bitPattern: 1), -Float.leastNormalMagnitude / 3, 65504, 1e-8]
        return (0..<count).map { i in i < specials.count ? specials[i] : Float.random(in: -0.1...0.1, using: &generator) }
    }

    private func compress(_ path: String, to output: String, options: NZOptions = NZOptions(chunkBytes: 4096)) throws {
        let file = try AtomicFile(path: output, overwrite: true)
        _ = try NZEncoder.compress(Checkpoint.open(path), to: file, options: options)
        try file.commit()
    }

    private func restore(_ path: String) throws -> [UInt8] {
        final class Collector: ByteSink {
            var bytes: [UInt8] = []
            var bytesWritten: Int { bytes.count }
            func write(_ data: UnsafeRawBufferPointer) throws { bytes += data }
        }
        let collector = Collector()
        _ = try NZDecoder(path: path).restore(to: collector, threads: 2)
        return collector.bytes
    }

    /// Every dtype, sizes 0, 1 and around the chunk size, specials kept bit for bit.
    func testLosslessRoundTripOfEveryDtypeAndOddSizes() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        var tensors: [(name: String, type: TensorType, shape: [Int], bytes: [UInt8])] = []
        let types: [TensorType] = [.f64, .f32, .f16, .bf16, .f8e4m3, .f8e5m2, .i8, .i16, .i32, .i64, .u8, .u16, .u32, .u64, .bool]
        for (k, type) in types.enumerated() {
            let perChunk = 4096 / type.blockBytes
            for count in [0, 1, perChunk - 1, perChunk, perChunk + 1, 3 * perChunk + 5] {
                let values = specialFloats(count, seed: UInt64(k * 100 + count))
                let bytes = type.isFloat ? try Fixtures.encoded(values, as: type) : Fixtures.randomBytes(type.byteCount(elements: count)!, seed: UInt64(count))
                tensors.append(("\(type)_\(count)", type, [count], bytes))
            }
        }
        let path = dir.appendingPathComponent("all.safetensors").path
        try Fixtures.writeSafetensors(tensors, metadata: [("k", "v")], to: path)
        let packed = dir.appendingPathComponent("all.nz").path
        try compress(path, to: packed)
        XCTAssertEqual(try restore(packed), Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        // Random access gives each tensor's bytes.
        let decoder = try NZDecoder(path: packed)
        for (index, tensor) in decoder.tensors.enumerated() {
            XCTAssertEqual(try decoder.tensorBytes(index), tensors.first { $0.name == tensor.name }!.bytes, tensor.name)
        }
    }

    /// GGUF with block types, alignment padding and bytes after the last tensor: restored exactly.
    func testGGUFRoundTripKeepsPaddingAndTrailingBytes() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("m.gguf").path
        try Fixtures.writeGGUF([("q", .q4_0, [3, 64], Fixtures.randomBytes(3 * 2 * 18, seed: 1)),
                                ("w", .f32, [5, 7], try Fixtures.encoded(specialFloats(35, seed: 2), as: .f32)),
                                ("h", .f16, [9], try Fixtures.encoded(specialFloats(9, seed: 3), as: .f16))],
                               metadata: [("general.architecture", .text("llama")), ("general.alignment", .uint32(64))], to: path)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes += Array("trailing bytes that are not padding".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let packed = dir.appendingPathComponent("m.nz").path
        try compress(path, to: packed)
        XCTAssertEqual(try restore(packed), bytes)
    }

    /// Lossy mode: BF16 P=3 keeps the header and sizes, returns the rounded values, and keeps NaN/Inf.
    func testLossyRestoresRoundedValues() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let values = specialFloats(5000, seed: 4)
        let original = try Fixtures.encoded(values, as: .bf16)
        let path = dir.appendingPathComponent("b.safetensors").path
        try Fixtures.writeSafetensors([("w", .bf16, [5000], original)], metadata: nil, to: path)
        let packed = dir.appendingPathComponent("b.nz").path
        try compress(path, to: packed, options: NZOptions(keptMantissaBits: 3, chunkBytes: 4096))
        let restored = try restore(packed)
        let headerLength = restored.count - original.count
        XCTAssertEqual(Array(restored.prefix(headerLength)), Array(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(headerLength)))
        for i in 0..<5000 {
            let bits = UInt32(original[2 * i]) | UInt32(original[2 * i + 1]) << 8
            let got = UInt32(restored[headerLength + 2 * i]) | UInt32(restored[headerLength + 2 * i + 1]) << 8
            XCTAssertEqual(got, FloatLayout.bfloat16.round(bits, keptBits: 3), "value \(i)")
        }
        XCTAssertEqual(try NZDecoder(path: packed).keptMantissaBits, 3)
    }

    /// Every single-byte change and every truncation of a small .nz is detected.
    func testEveryCorruptionAndTruncationIsDetected() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("s.safetensors").path
        try Fixtures.writeSafetensors([("a", .bf16, [300], try Fixtures.encoded(specialFloats(300, seed: 5), as: .bf16)),
                                       ("b", .i32, [40], Fixtures.randomBytes(160, seed: 6)),
                                       ("c", .f32, [0], [])], metadata: [("m", "x")], to: path)
        let packed = dir.appendingPathComponent("s.nz").path
        try compress(path, to: packed, options: NZOptions(chunkBytes: 256))
        let good = Array(try Data(contentsOf: URL(fileURLWithPath: packed)))
        let damaged = dir.appendingPathComponent("d.nz").path
        for position in 0..<good.count {
            var bytes = good
            bytes[position] ^= 0x21
            try Data(bytes).write(to: URL(fileURLWithPath: damaged))
            XCTAssertThrowsError(try restore(damaged), "flipping byte \(position) went unnoticed") { error in
                XCTAssertTrue(error is CheckpointError, "byte \(position): \(error)")
            }
        }
        for length in 0..<good.count {
            try Data(good.prefix(length)).write(to: URL(fileURLWithPath: damaged))
            XCTAssertThrowsError(try restore(damaged), "truncation at \(length) went unnoticed")
        }
        XCTAssertEqual(try restore(packed), Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    /// Declared sizes that disagree with the data are refused before anything large is allocated.
    func testDecompressionBombIsRefused() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        var header = NZFormat.magic + [NZFormat.version, 0, 0, 1]
        var record: [UInt8] = [1, 2, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
        withUnsafeBytes(of: UInt32(1 << 30).littleEndian) { record += $0 }   // claims 1 GiB of header
        withUnsafeBytes(of: UInt32(16).littleEndian) { record += $0 }        // from 16 bytes
        record += [UInt8](repeating: 0, count: 8 + 16)
        header += record
        let path = try Fixtures.write(header, named: "bomb.nz", in: dir)
        XCTAssertThrowsError(try NZDecoder(path: path)) { error in
            XCTAssertTrue("\(error)".contains("refused"), "\(error)")
        }
    }
}
