import Checkpoint
import Foundation
import TestSupport
import XCTest

/// End-to-end tests of the built nzip and nunzip executables.
final class NZipToolTests: XCTestCase {
    private var dir: URL!
    private var nzip: String!
    private var nunzip: String!

    override func setUpWithError() throws {
        dir = try TestSupport.temporaryDirectory(self)
        nzip = try TestSupport.tool("nzip")
        nunzip = try TestSupport.tool("nunzip")
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    private func contents(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    /// A BF16 + F32 + I64 checkpoint of a few thousand values.
    private func makeCheckpoint(_ name: String) throws -> String {
        var generator = TestSupport.SeededGenerator(seed: 77)
        let values = (0..<6000).map { _ in Float.random(in: -0.05...0.05, using: &generator) }
        func encoded(_ v: [Float], _ type: TensorType) throws -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: type.byteCount(elements: v.count)!)
            try v.withUnsafeBufferPointer { input in try bytes.withUnsafeMutableBytes { try ElementCodec.encode(input, as: type, into: $0) } }
            return bytes
        }
        let header = try SafetensorsHeader.contiguous([("w", .bf16, [60, 100]), ("b", .f32, [600]), ("ids", .i64, [7])], metadata: [("format", "pt")])
        let data = try encoded(values, .bf16) + encoded(Array(values.prefix(600)), .f32) + encoded([1, 2, 3, 4, 5, 6, 7], .i64)
        try Data(header.serialized() + data).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    func testFileRoundTripKeepsInputAndRefusesOverwrite() throws {
        let input = try makeCheckpoint("m.safetensors")
        let original = try contents("m.safetensors")
        var result = try TestSupport.run(nzip, ["-q", input])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try contents("m.safetensors"), original, "input kept")
        XCTAssertTrue(FileManager.default.fileExists(atPath: input + ".nz"))
        // An existing output is not overwritten without -f.
        result = try TestSupport.run(nzip, ["-q", input])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("already exists"), result.stderr)
        try FileManager.default.moveItem(atPath: input, toPath: path("moved.safetensors"))
        result = try TestSupport.run(nunzip, ["-q", input + ".nz"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try contents("m.safetensors"), original, "restored byte for byte")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp") }
        XCTAssertEqual(leftovers, [], "no temporary files left")
    }

    func testPipesBothWaysAndThreadsGiveTheSameBytes() throws {
        let input = try makeCheckpoint("m.safetensors")
        let original = try contents("m.safetensors")
        let one = try TestSupport.run(nzip, ["-T1", "--chunk-kib", "4"], stdin: original)
        let two = try TestSupport.run(nzip, ["-T", "2", "--chunk-kib", "4", "-c", input])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertEqual(one.stdout, two.stdout, "output does not depend on threads or on reading from a pipe")
        let back = try TestSupport.run(nunzip, [], stdin: one.stdout)
        XCTAssertEqual(back.status, 0, back.stderr)
        XCTAssertEqual(back.stdout, original)
        let viaDashD = try TestSupport.run(nzip, ["-d", "-c", "-"], stdin: one.stdout)
        XCTAssertEqual(viaDashD.stdout, original, "nzip -d is nunzip")
    }

    func testListTestAndRandomAccess() throws {
        let input = try makeCheckpoint("m.safetensors")
        XCTAssertEqual(try TestSupport.run(nzip, ["-q", input]).status, 0)
        let list = try TestSupport.run(nzip, ["-l", input + ".nz"])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdoutText.contains("w "), list.stdoutText)
        XCTAssertTrue(list.stdoutText.contains("neuzip"), list.stdoutText)
        XCTAssertTrue(list.stdoutText.contains("total"), list.stdoutText)
        let json = try TestSupport.run(nzip, ["-l", "--json", input + ".nz"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        XCTAssertEqual(object["stored_bytes"] as? Int, try contents("m.safetensors.nz").count)
        XCTAssertEqual(try TestSupport.run(nzip, ["-t", input + ".nz"]).status, 0)
        let one = try TestSupport.run(nunzip, ["--tensor", "b", "-c", input + ".nz"])
        XCTAssertEqual(one.status, 0, one.stderr)
        let extracted = path("b.safetensors")
        try one.stdout.write(to: URL(fileURLWithPath: extracted))
        let tensor = try Checkpoint.open(extracted)
        XCTAssertEqual(tensor.tensors.map(\.name), ["b"])
        let source = try Checkpoint.open(input)
        XCTAssertEqual(try tensor.floats(of: 0), try source.floats(of: source.index(of: "b")!))
    }

    /// Every tool reads .nz directly: mstat lists and compares it, nunzip converts it to dense floats.
    func testNZIsACheckpointForEveryTool() throws {
        let input = try makeCheckpoint("m.safetensors")
        XCTAssertEqual(try TestSupport.run(nzip, ["-q", input]).status, 0)
        let mstat = try TestSupport.tool("mstat")
        let list = try TestSupport.run(mstat, [input + ".nz"])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdoutText.contains("safetensors in .nz, 3 tensors"), list.stdoutText)
        for arguments in [["diff", "--json", input, input + ".nz"], ["diff", "--json", "-", input]] {
            let diff = try TestSupport.run(mstat, arguments, stdin: try contents("m.safetensors.nz"))
            XCTAssertEqual(diff.status, 0, diff.stderr)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: diff.stdout) as? [String: Any])
            XCTAssertEqual((json["overall"] as? [String: Any])?["max_abs_error"] as? Double, 0, "\(arguments)")
        }
        let dense = try TestSupport.run(nunzip, ["--dtype", "f32", "-o", path("dense.safetensors"), input + ".nz"])
        XCTAssertEqual(dense.status, 0, dense.stderr)
        let converted = try Checkpoint.open(path("dense.safetensors")), source = try Checkpoint.open(input)
        XCTAssertEqual(converted.tensors.map(\.type), [.f32, .f32, .i64])
        XCTAssertEqual(try converted.floats(of: 0), try source.floats(of: 0))
    }

    func testCorruptInputFailsWithOneLineAndNoOutput() throws {
        let input = try makeCheckpoint("m.safetensors")
        XCTAssertEqual(try TestSupport.run(nzip, ["-q", input]).status, 0)
        var bytes = try contents("m.safetensors.nz")
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path("bad.safetensors.nz")))
        for arguments in [["bad.safetensors.nz"], ["-t", "bad.safetensors.nz"]] {
            let result = try TestSupport.run(nunzip, arguments.map { $0.hasSuffix(".nz") ? path($0) : $0 })
            XCTAssertEqual(result.status, 1, "\(arguments)")
            XCTAssertFalse(result.crashed)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.hasPrefix("nunzip: \(path("bad.safetensors.nz")): "), result.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad.safetensors")), "no partial output")
        let truncated = try TestSupport.run(nunzip, ["-c"], stdin: bytes.prefix(bytes.count - 40))
        XCTAssertEqual(truncated.status, 1)
        XCTAssertTrue(truncated.stderr.hasPrefix("nunzip: <stdin>: "), truncated.stderr)
    }

    func testRemoveInputOnlyAfterVerifiedOutput() throws {
        let input = try makeCheckpoint("m.safetensors")
        let original = try contents("m.safetensors")
        let result = try TestSupport.run(nzip, ["-q", "--rm", input])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: input))
        XCTAssertEqual(try TestSupport.run(nunzip, ["-q", "--rm", input + ".nz"]).status, 0)
        XCTAssertEqual(try contents("m.safetensors"), original)
        XCTAssertFalse(FileManager.default.fileExists(atPath: input + ".nz"))
    }

    func testLossyShrinksAndDiffShowsTheError() throws {
        let input = try makeCheckpoint("m.safetensors")
        let lossless = try TestSupport.run(nzip, ["-c", input])
        let lossy = try TestSupport.run(nzip, ["-c", "--mantissa-bits", "3", input])
        XCTAssertEqual(lossy.status, 0, lossy.stderr)
        XCTAssertLessThan(lossy.stdout.count, lossless.stdout.count * 3 / 4)
        let restored = try TestSupport.run(nunzip, ["-c"], stdin: lossy.stdout)
        XCTAssertEqual(restored.status, 0, restored.stderr)
        try restored.stdout.write(to: URL(fileURLWithPath: path("lossy.safetensors")))
        let diff = try TestSupport.run(try TestSupport.tool("mstat"), ["diff", "--json", input, path("lossy.safetensors")])
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: diff.stdout) as? [String: Any])
        let tensors = try XCTUnwrap(json["tensors"] as? [[String: Any]])
        let w = try XCTUnwrap(tensors.first { $0["name"] as? String == "w" })
        XCTAssertGreaterThan(try XCTUnwrap(w["max_abs_error"] as? Double), 0)
        XCTAssertGreaterThan(try XCTUnwrap(w["cosine"] as? Double), 0.99)
        let ids = try XCTUnwrap(tensors.first { $0["name"] as? String == "ids" })
        XCTAssertEqual(ids["max_abs_error"] as? Double, 0, "integer tensors stay exact")
    }

    func testGGUFToDenseSafetensors() throws {
        let ggufPath = path("m.gguf")
        let header = try GGUFHeader.layout(metadata: [("general.architecture", .text("llama")), ("n", .uint32(3)),
                                                      ("tokens", .array(elementType: .string, [.text("a"), .text("b")]))],
                                           tensors: [("q", .q8_0, [2, 32])])
        var block = [UInt8](repeating: 0, count: 68)
        block[1] = 0x3C; block[35] = 0x3C  // scales 1.0
        for j in 0..<32 { block[2 + j] = UInt8(bitPattern: Int8(j - 16)); block[36 + j] = UInt8(j) }
        let file = try AtomicFile(path: ggufPath, overwrite: false)
        let writer = try CheckpointWriter(gguf: header, to: file, name: ggufPath)
        try block.withUnsafeBytes { try writer.write($0) }
        try writer.finish()
        try file.commit()
        let result = try TestSupport.run(nunzip, ["-q", "--dtype", "bf16", ggufPath])
        XCTAssertEqual(result.status, 0, result.stderr)
        let dense = try Checkpoint.open(path("m.safetensors"))
        XCTAssertEqual(dense.tensors.first?.type, .bf16)
        XCTAssertEqual(dense.tensors.first?.shape, [2, 32])
        XCTAssertEqual(try dense.floats(of: 0), (0..<32).map { Float($0 - 16) } + (0..<32).map { Float($0) })
        XCTAssertEqual(dense.metadata.first { $0.key == "tokens" }?.value.stringValue, #"["a","b"]"#)
        XCTAssertEqual(try TestSupport.run(nunzip, ["--dtype", "f8", ggufPath, "-c"]).status, 2, "bad --dtype is a usage error")
    }
}
