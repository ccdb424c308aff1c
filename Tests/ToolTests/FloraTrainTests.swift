import Foundation
import TestSupport
import XCTest

/// End-to-end tests of the built `floratrain`: resume is exact, compressed weights change nothing,
/// outputs go to pipes, SIGINT saves, and bad input is one line with exit 1.
final class FloraTrainTests: XCTestCase {
    private var dir: URL!
    private var floratrain: String!
    private var corpus: String!

    override func setUpWithError() throws {
        dir = try TestSupport.temporaryDirectory(self)
        floratrain = try TestSupport.tool("floratrain")
        // Generated English-like text: no file outside the test is needed.
        let words = ["the", "model", "learns", "a", "small", "text", "and", "then", "it", "compresses", "its", "state", "with", "seeds"]
        var generator = TestSupport.SeededGenerator(seed: 1)
        let text = (0..<6000).map { _ in words[Int(generator.next() % UInt64(words.count))] }.joined(separator: " ")
        corpus = dir.appendingPathComponent("corpus.txt").path
        try text.write(toFile: corpus, atomically: true, encoding: .utf8)
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    private let small = ["--dim", "32", "--layers", "2", "--heads", "2", "--batch", "2", "--ctx", "32", "-q", "-T", "2"]

    /// Losses by step from a JSON-lines log.
    private func losses(_ log: String) throws -> [Int: Double] {
        var out: [Int: Double] = [:]
        for line in try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n") {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            out[try XCTUnwrap(object["step"] as? Int)] = try XCTUnwrap(object["loss"] as? Double)
        }
        return out
    }

    private func train(_ arguments: [String]) throws -> TestSupport.ProcessResult {
        let result = try TestSupport.run(floratrain, small + ["--data", corpus] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result
    }

    func testResumeContinuesBitForBit() throws {
        for optimizer in [["--optim", "flora", "--kappa", "2", "--lr", "1e-2"], ["--optim", "adamw"], ["--optim", "galore", "--rank", "4", "--galore-gap", "2"],
                          ["--optim", "flora", "--accum", "2", "--accum-rank", "4", "--kappa", "3", "--lr", "1e-2"]] {
            let name = optimizer[1]
            _ = try train(optimizer + ["--steps", "6", "--log", path("\(name)-straight.jsonl"), "-o", path("\(name)-straight.safetensors"), "-f"])
            _ = try train(optimizer + ["--steps", "3", "--save-every", "3", "--log", path("\(name)-resumed.jsonl"), "-o", path("\(name)-half.safetensors"), "-f"])
            _ = try train(optimizer + ["--steps", "6", "--resume", path("\(name)-half.safetensors.state"), "--log", path("\(name)-resumed.jsonl"),
                                       "-o", path("\(name)-resumed.safetensors"), "-f"])
            let straight = try losses(path("\(name)-straight.jsonl")), resumed = try losses(path("\(name)-resumed.jsonl"))
            XCTAssertEqual(straight.count, 6)
            XCTAssertEqual(straight, resumed, "\(optimizer)")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("\(name)-straight.safetensors"))),
                           try Data(contentsOf: URL(fileURLWithPath: path("\(name)-resumed.safetensors"))), "\(optimizer): final models differ")
        }
    }

    func testCompressedWeightsGiveTheSameTrajectory() throws {
        _ = try train(["--steps", "5", "--lr", "1e-2", "--log", path("plain.jsonl"), "-o", path("plain.safetensors")])
        _ = try train(["--steps", "5", "--lr", "1e-2", "--compress-weights", "--log", path("packed.jsonl"), "-o", path("packed.safetensors")])
        XCTAssertEqual(try losses(path("plain.jsonl")), try losses(path("packed.jsonl")))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("plain.safetensors"))),
                       try Data(contentsOf: URL(fileURLWithPath: path("packed.safetensors"))))
    }

    /// `-o -` writes the model to a pipe; mstat reads it from there and evaluates it.
    func testOutputToAPipeIsAModelEveryToolReads() throws {
        let result = try train(["--steps", "30", "--optim", "adamw", "--lr", "1e-2", "-o", "-"])
        XCTAssertGreaterThan(result.stdout.count, 1000)
        let mstat = try TestSupport.tool("mstat")
        // stats reads the whole pipe (list would stop after the header and close it early).
        let listed = try TestSupport.run(mstat, ["stats", "--json", "-"], stdin: result.stdout)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdoutText.contains("model.layers.1.mlp.down_proj.weight"))
        let model = path("piped.safetensors")
        try result.stdout.write(to: URL(fileURLWithPath: model))
        let ppl = try TestSupport.run(mstat, ["ppl", "--json", "--ctx", "32", "--max-windows", "2", "--text", corpus, model])
        XCTAssertEqual(ppl.status, 0, ppl.stderr)
        let value = try XCTUnwrap((try JSONSerialization.jsonObject(with: ppl.stdout) as? [String: Any])?["ppl"] as? Double)
        XCTAssertLessThan(value, 100, "30 steps on a 14-word text should beat the uniform 256")
    }

    func testSigintSavesTheStateAndTheModel() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: floratrain)
        process.arguments = small + ["--data", corpus, "--steps", "100000", "--log", path("run.jsonl"), "-o", path("run.safetensors")]
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? String(contentsOfFile: path("run.jsonl"), encoding: .utf8))?.isEmpty ?? true { usleep(20_000) }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 128 + SIGINT)
        let steps = try losses(path("run.jsonl")).keys.max() ?? 0
        XCTAssertGreaterThan(steps, 0)
        let mstat = try TestSupport.tool("mstat")
        let state = try TestSupport.run(mstat, ["--json", path("run.safetensors.state")])
        XCTAssertEqual(state.status, 0, state.stderr)
        XCTAssertTrue(state.stdoutText.contains("\"training.step\":\"\(steps)\""), state.stdoutText)
        XCTAssertEqual(try TestSupport.run(mstat, [path("run.safetensors")]).status, 0)
    }

    func testBadInputIsOneLineAndExitOne() throws {
        let missing = try TestSupport.run(floratrain, small + ["--data", path("none.txt"), "--steps", "1", "-o", path("m.safetensors")])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "floratrain: \(path("none.txt")): cannot open: No such file or directory\n")
        try Data("short".utf8).write(to: URL(fileURLWithPath: path("short.txt")))
        let short = try TestSupport.run(floratrain, small + ["--data", path("short.txt"), "--steps", "1", "-o", path("m.safetensors")])
        XCTAssertEqual(short.status, 1)
        XCTAssertTrue(short.stderr.contains("fewer than one window"), short.stderr)
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: path("exists.safetensors")))
        let exists = try TestSupport.run(floratrain, small + ["--data", corpus, "--steps", "1", "-o", path("exists.safetensors")])
        XCTAssertEqual(exists.status, 1)
        XCTAssertEqual(try String(contentsOfFile: path("exists.safetensors"), encoding: .utf8), "keep me")
        // A resume with other settings is refused, naming the state file.
        _ = try train(["--steps", "1", "--save-every", "1", "-o", path("a.safetensors")])
        let other = try TestSupport.run(floratrain, small + ["--data", corpus, "--steps", "2", "--lr", "0.5", "--resume", path("a.safetensors.state"), "-o", path("b.safetensors")])
        XCTAssertEqual(other.status, 1)
        XCTAssertTrue(other.stderr.hasPrefix("floratrain: \(path("a.safetensors.state")): was trained with other settings"), other.stderr)
        let usage = try TestSupport.run(floratrain, ["--data", corpus, "-o", path("x"), "--optim", "sgd"])
        XCTAssertEqual(usage.status, 2)
    }
}
