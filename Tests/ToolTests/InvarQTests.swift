import Foundation
import TestSupport
import XCTest

/// End-to-end tests of the built `invarq` on tiny models: GPTQ checkpoints that an independent
/// reader decodes to our values and our engine evaluates, GGUF output that gguf-py reads with
/// llama.cpp's type mix, a deterministic search, and errors.
final class InvarQTests: XCTestCase {
    private var dir: URL!
    private var invarq: String!
    private var mstat: String!
    private var corpus: String!

    override func setUpWithError() throws {
        dir = try TestSupport.temporaryDirectory(self)
        invarq = try TestSupport.tool("invarq")
        mstat = try TestSupport.tool("mstat")
        let words = ["the", "model", "learns", "a", "small", "text", "and", "then", "it", "quantizes", "its", "weights", "with", "care"]
        var generator = TestSupport.SeededGenerator(seed: 4)
        let text = (0..<3000).map { _ in words[Int(generator.next() % UInt64(words.count))] }.joined(separator: " ")
        corpus = path("corpus.txt")
        try text.write(toFile: corpus, atomically: true, encoding: .utf8)
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A tiny byte-level model trained for a few steps by floratrain (dim 64, FFN 128).
    private func trainedModel() throws -> String {
        let model = path("tiny.safetensors")
        let result = try TestSupport.run(try TestSupport.tool("floratrain"),
                                         ["--dim", "64", "--layers", "2", "--heads", "2", "--ffn", "128", "--batch", "4", "--ctx", "64", "--steps", "30",
                                          "--optim", "adamw", "--lr", "3e-3", "--data", corpus, "-q", "-T", "2", "-o", model])
        XCTAssertEqual(result.status, 0, result.stderr)
        return model
    }

    private func run(_ arguments: [String]) throws -> TestSupport.ProcessResult {
        let result = try TestSupport.run(invarq, arguments + ["-q", "-T", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return result
    }

    private func perplexity(_ model: String) throws -> String {
        let result = try TestSupport.run(mstat, ["ppl", "--text", corpus, "--ctx", "64", "-q", model])
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdoutText.split(separator: "\n").first.map(String.init) ?? ""
    }

    /// GPTQ checkpoints at 2, 3 and 4 bits: an independent reader (AutoGPTQ's convention in numpy)
    /// decodes exactly our dequantized weights, and `mstat ppl` evaluates the packed file to the same
    /// perplexity as the dequantized one.
    func testGPTQCheckpointsDecodeIndependentlyAndEvaluate() throws {
        let model = try trainedModel()
        for type in ["w2g64", "w3g32", "w4g64"] {
            let packed = path("\(type).safetensors"), plain = path("\(type)-dequantized.safetensors")
            try run(["--type", type, "--base", "gptq", "--calib", corpus, "--ctx", "64", "--calib-windows", "8", model, "-o", packed])
            try run(["--type", type, "--base", "gptq", "--calib", corpus, "--ctx", "64", "--calib-windows", "8", "--format", "safetensors", model, "-o", plain])
            let check = try TestSupport.pythonScript("gptq_dequantize.py", [packed, plain], modules: ["safetensors", "numpy"])
            let layers = try XCTUnwrap(try TestSupport.json(check) as? [[String: Any]])
            XCTAssertEqual(layers.count, 14, type)
            for layer in layers {
                XCTAssertEqual(layer["bits"] as? Int, Int(type.dropFirst().prefix(1)))
                XCTAssertEqual(layer["max_difference"] as? Double, 0, "\(type) \(layer["layer"] ?? "")")
            }
            XCTAssertEqual(try perplexity(packed), try perplexity(plain), type)
        }
        // More bits, less damage.
        let source = Double(try perplexity(model).split(separator: " ")[2])!
        let two = Double(try perplexity(path("w2g64.safetensors")).split(separator: " ")[2])!
        let four = Double(try perplexity(path("w4g64.safetensors")).split(separator: " ")[2])!
        XCTAssertLessThan(abs(four - source), abs(two - source))
    }

    /// The search is deterministic for a seed, logs its moves and checks as JSON lines, and keeps a
    /// check only when it lowered the objective.
    func testSearchIsDeterministicAndOnlyKeepsImprovements() throws {
        let model = try trainedModel()
        var outputs: [Data] = []
        for run in 0..<2 {
            let log = path("search\(run).jsonl"), out = path("search\(run).safetensors")
            try self.run(["--type", "w2g64", "--base", "rtn", "--calib", corpus, "--ctx", "64", "--calib-windows", "8", "--search", "16",
                          "--check-every", "4", "--seed", "5", "--log", log, model, "-o", out])
            outputs.append(try Data(contentsOf: URL(fileURLWithPath: out)))
            let events = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
                try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            let kept = events.filter { $0["event"] as? String == "check" && $0["kept"] as? Bool == true }.compactMap { $0["objective"] as? Double }
            XCTAssertEqual(kept, kept.sorted(by: >), "kept checks must lower the objective")
            XCTAssert(kept.allSatisfy { $0 < 1.1 }, "the objective starts at 1 + alpha")
            XCTAssertFalse(events.filter { $0["event"] as? String == "accept" }.isEmpty, "no move accepted in 16 proposals")
        }
        XCTAssertEqual(outputs[0], outputs[1])
    }

    /// GGUF: a model written by gguf-py, quantized to Q4_0, keeps llama.cpp's mix (matrices Q4_0, the
    /// tied embedding Q8_0 because 64 is not a multiple of 256, norms F32) as gguf-py reads it, and
    /// evaluates like its dequantized export (same quantization, other names and Q/K row order).
    func testGGUFOutputKeepsTheMixAndTheModel() throws {
        let source = path("tiny.gguf")
        try TestSupport.pythonScript("make_tiny_gguf.py", [source], modules: ["gguf", "numpy"])
        let quantized = path("q4_0.gguf"), plain = path("q4_0.safetensors")
        try run(["--type", "q4_0", source, "-o", quantized])
        try run(["--type", "q4_0", "--format", "safetensors", source, "-o", plain])
        let script = "import sys, collections; from gguf import GGUFReader; r = GGUFReader(sys.argv[1]); "
            + "print(sorted(collections.Counter(t.tensor_type.name for t in r.tensors).items())); "
            + "print(r.fields['general.file_type'].parts[-1][0])"
        let types = try TestSupport.python(["-c", script, quantized], modules: ["gguf"]).stdoutText
        XCTAssertEqual(types, "[('F32', 5), ('Q4_0', 14), ('Q8_0', 1)]\n2\n")
        let a = Double(try perplexity(quantized).split(separator: " ")[2])!, b = Double(try perplexity(plain).split(separator: " ")[2])!
        XCTAssertEqual(a, b, accuracy: 1e-3 * b)
    }

    /// A byte-level model of ours as GGUF: llama.cpp's keys made from its config, the byte tokenizer as
    /// the 256 GPT-2 byte symbols without merges. Our engine scores it like the source (Q8_0 costs
    /// little), and llama.cpp, where installed, loads it and agrees.
    func testByteLevelModelBecomesALlamaCppModel() throws {
        let model = try trainedModel(), gguf = path("tiny-q8_0.gguf")
        try run(["--type", "q8_0", model, "-o", gguf])
        let ours = Double(try perplexity(gguf).split(separator: " ")[2])!, source = Double(try perplexity(model).split(separator: " ")[2])!
        XCTAssertEqual(ours, source, accuracy: 0.01 * source)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("bench/llama_ppl.py").path
        let llama = try TestSupport.python([script, gguf, corpus, "64", "8", "2"], modules: ["llama_cpp", "numpy"])
        let theirs = try XCTUnwrap(Double(llama.stdoutText.split(separator: "\t").first ?? ""))
        let ours8 = Double(try TestSupport.run(mstat, ["ppl", "--text", corpus, "--ctx", "64", "--max-windows", "8", "-q", gguf]).stdoutText.split(separator: " ")[2])!
        XCTAssertEqual(theirs, ours8, accuracy: 1e-3 * ours8)
    }

    func testBadInputIsOneLineAndExitOneUsageErrorsTwo() throws {
        let model = try trainedModel()
        let noCalib = try TestSupport.run(invarq, ["--type", "w2g64", "--base", "gptq", model, "-o", path("x.safetensors")])
        XCTAssertEqual(noCalib.status, 2, "a usage error, as in every tool")
        XCTAssertTrue(noCalib.stderr.hasPrefix("invarq: GPTQ and the search need --calib FILE"), noCalib.stderr)
        let groupsAsGGUF = try TestSupport.run(invarq, ["--type", "w4g64", "--format", "gguf", model, "-o", path("x.gguf")])
        XCTAssertEqual(groupsAsGGUF.status, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.gguf")))
        let missing = try TestSupport.run(invarq, ["--type", "q4_0", path("none.gguf"), "-o", path("y.gguf")])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "invarq: \(path("none.gguf")): cannot open: No such file or directory\n")
        let shortCalib = path("short.txt")
        try "tiny".write(toFile: shortCalib, atomically: true, encoding: .utf8)
        let short = try TestSupport.run(invarq, ["--type", "w4g64", "--calib", shortCalib, model, "-o", path("z.safetensors")])
        XCTAssertEqual(short.status, 1)
        XCTAssertTrue(short.stderr.hasPrefix("invarq: \(shortCalib): calibration text has"), short.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("z.safetensors")))
        XCTAssertEqual(try TestSupport.run(invarq, ["--type", "q9_9", model, "-o", path("w.gguf")]).status, 2)
        // A log that cannot be written fails before any work, and leaves no output.
        let badLog = try TestSupport.run(invarq, ["--type", "w4g64", "--calib", corpus, "--search", "2", "--log", path("none/s.jsonl"), model, "-o", path("v.safetensors")])
        XCTAssertEqual(badLog.status, 1)
        XCTAssertTrue(badLog.stderr.hasPrefix("invarq: \(path("none/s.jsonl")): cannot open for writing"), badLog.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("v.safetensors")))
    }
}
