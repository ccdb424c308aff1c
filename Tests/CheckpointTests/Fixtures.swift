import Checkpoint
import Foundation
import TestSupport
import XCTest

/// Builders of small checkpoint files for the tests.
enum Fixtures {
    /// A safetensors file from a literal JSON header (padded to 8 as writers do, unless `pad` is false)
    /// and raw data bytes.
    static func safetensorsBytes(json: String, data: [UInt8], pad: Bool = true) -> [UInt8] {
        var header = Array(json.utf8)
        while pad && header.count % 8 != 0 { header.append(0x20) }
        var out = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) }
        out += header
        out += data
        return out
    }

    /// Writes `bytes` to a new file in `directory` and returns its path.
    static func write(_ bytes: [UInt8], named name: String, in directory: URL) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Writes a checkpoint through the library's own writer.
    static func writeSafetensors(_ tensors: [(name: String, type: TensorType, shape: [Int], bytes: [UInt8])],
                                 metadata: [(key: String, value: String)]?, to path: String) throws {
        let header = try SafetensorsHeader.contiguous(tensors.map { ($0.name, $0.type, $0.shape) }, metadata: metadata)
        let file = try AtomicFile(path: path, overwrite: true)
        let writer = try CheckpointWriter(safetensors: header, to: file, name: path)
        for tensor in tensors { try tensor.bytes.withUnsafeBytes { try writer.write($0) } }
        try writer.finish()
        try file.commit()
    }

    /// Writes a GGUF file through the library's own writer.
    static func writeGGUF(_ tensors: [(name: String, type: TensorType, shape: [Int], bytes: [UInt8])],
                          metadata: [(key: String, value: GGUFValue)], to path: String) throws {
        let header = try GGUFHeader.layout(metadata: metadata, tensors: tensors.map { ($0.name, $0.type, $0.shape) })
        let file = try AtomicFile(path: path, overwrite: true)
        let writer = try CheckpointWriter(gguf: header, to: file, name: path)
        for tensor in tensors { try tensor.bytes.withUnsafeBytes { try writer.write($0) } }
        try writer.finish()
        try file.commit()
    }

    /// Asserts that writing `checkpoint` again in its own format reproduces the file at `path` byte for byte.
    static func assertRewritesIdentically(_ checkpoint: Checkpoint, _ path: String, in directory: URL, _ message: String = "",
                                          file: StaticString = #filePath, line: UInt = #line) throws {
        let copy = directory.appendingPathComponent("copy-" + URL(fileURLWithPath: path).lastPathComponent).path
        let output = try AtomicFile(path: copy, overwrite: true)
        try checkpoint.writeSameFormat(to: output, name: copy)
        try output.commit()
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: copy)), try Data(contentsOf: URL(fileURLWithPath: path)), message, file: file, line: line)
    }

    /// Random bytes.
    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = TestSupport.SeededGenerator(seed: seed)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// Bytes of Float values encoded as `type` through the library.
    static func encoded(_ values: [Float], as type: TensorType) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: type.byteCount(elements: values.count)!)
        try values.withUnsafeBufferPointer { input in
            try bytes.withUnsafeMutableBytes { try ElementCodec.encode(input, as: type, into: $0) }
        }
        return bytes
    }

    /// Asserts that opening `path` fails with a one-line CheckpointError naming the file and containing `fragment`.
    static func assertRejects(_ path: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let checkpoint = try Checkpoint.open(path)
            try checkpoint.streamTensors { _ in }
            XCTFail("\(path) was accepted; expected an error containing '\(fragment)'", file: file, line: line)
        } catch let error as CheckpointError {
            XCTAssertEqual(error.file, path, file: file, line: line)
            XCTAssertTrue(error.message.contains(fragment), "'\(error.message)' does not mention '\(fragment)'", file: file, line: line)
            XCTAssertFalse(error.description.contains("\n"), "error is not one line", file: file, line: line)
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
        }
    }
}
