import Foundation
import TestSupport
import XCTest

/// End-to-end tests of the built `gingeropt`: a classifier from CSV, a language model, exact resume,
/// and errors.
final class GingerOptTests: XCTestCase {
    private var dir: URL!
    private var gingeropt: String!

    override func setUpWithError() throws {
        dir = try TestSupport.temporaryDirectory(self)
        gingeropt = try TestSupport.tool("gingeropt")
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Three Gaussian clusters in four features, labelled by name.
    private func makeCSV() throws -> String {
        var generator = TestSupport.SeededGenerator(seed: 2)
        var lines = ["a,b,c,d,species"]
        let names = ["alpha", "beta", "gamma"]
        for i in 0..<300 {
            let k = i % 3
            let features = (0..<4).map { j in Double(j == k ? 2 : 0) + Double.random(in: -1...1, using: &generator) }
            lines.append(features.map { String(format: "%.4f", $0) }.joined(separator: ",") + "," + names[k])
        }
        let file = path("clusters.csv")
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Per logged step: loss, validation loss and accuracy (not the timings).
    private func results(_ log: String) throws -> [[Double?]] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map { line in
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return ["step", "loss", "val_loss", "val_accuracy"].map { (object[$0] as? NSNumber)?.doubleValue }
        }
    }

    private func lastLine(_ log: String) throws -> [String: Any] {
        let line = try XCTUnwrap(try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").last)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    func testClassifierLearnsAndResumesExactly() throws {
        let csv = try makeCSV()
        let common = ["--task", "classify", "--data", csv, "--hidden", "16,8", "--batch", "32", "-q", "-T", "1"]
        for optim in ["ginger", "adamw", "signum"] {
            let result = try TestSupport.run(gingeropt, common + ["--optim", optim, "--steps", "60", "--lr", "1e-2", "--eval-every", "20",
                                                                  "--log", path("\(optim).jsonl"), "-o", path("\(optim).safetensors")])
            XCTAssertEqual(result.status, 0, result.stderr)
            let last = try lastLine(path("\(optim).jsonl"))
            XCTAssertGreaterThan(try XCTUnwrap(last["val_accuracy"] as? Double), 0.85, optim)
        }
        // Ginger's state holds the momentum, the eigenvectors and (exactly, as text) the eigenvalues.
        _ = try TestSupport.run(gingeropt, common + ["--steps", "20", "--lr", "1e-2", "--save-every", "20", "--log", path("half.jsonl"), "-o", path("half.safetensors")])
        let resumed = try TestSupport.run(gingeropt, common + ["--steps", "60", "--lr", "1e-2", "--eval-every", "20", "--resume", path("half.safetensors.state"),
                                                               "--log", path("half.jsonl"), "-o", path("resumed.safetensors")])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try results(path("ginger.jsonl")), try results(path("half.jsonl")))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("ginger.safetensors"))), try Data(contentsOf: URL(fileURLWithPath: path("resumed.safetensors"))))
        let mstat = try TestSupport.run(try TestSupport.tool("mstat"), ["--json", path("ginger.safetensors")])
        XCTAssertTrue(mstat.stdoutText.contains("\\\"classes\\\":[\\\"alpha\\\",\\\"beta\\\",\\\"gamma\\\"]"), mstat.stdoutText)
    }

    func testLanguageModelWithGinger() throws {
        let text = path("text.txt")
        try String(repeating: "curvature helps when the damping is right. ", count: 200).write(toFile: text, atomically: true, encoding: .utf8)
        let result = try TestSupport.run(gingeropt, ["--data", text, "--dim", "32", "--layers", "1", "--heads", "2", "--batch", "2", "--ctx", "32",
                                                     "--steps", "30", "--lr", "1e-3", "-q", "--log", path("lm.jsonl"), "-o", path("lm.safetensors")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let last = try lastLine(path("lm.jsonl"))
        XCTAssertLessThan(try XCTUnwrap(last["loss"] as? Double), log(256) - 1, "30 steps should take a nat off the uniform loss")
    }

    /// Without --lr, each optimizer trains at its own default: Ginger and signum at Ginger's, AdamW at 1e-3.
    func testLearningRateDefaultsDependOnTheOptimizer() throws {
        let text = path("text.txt")
        try String(repeating: "defaults differ by optimizer. ", count: 100).write(toFile: text, atomically: true, encoding: .utf8)
        for (optim, expected) in [("ginger", 4e-4), ("signum", 4e-4), ("adamw", 1e-3)] {
            let result = try TestSupport.run(gingeropt, ["--data", text, "--dim", "16", "--layers", "1", "--heads", "2", "--batch", "2", "--ctx", "16",
                                                         "--steps", "2", "--optim", optim, "-q", "--log", path("\(optim).jsonl"), "-o", path("\(optim).safetensors")])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(try XCTUnwrap(try lastLine(path("\(optim).jsonl"))["lr"] as? Double), expected, accuracy: expected * 1e-6, optim)
        }
    }

    func testBadInputIsOneLineAndExitOne() throws {
        let bad = path("bad.csv")
        try "x,y,label\n1,2,a\n3,four,b\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let result = try TestSupport.run(gingeropt, ["--task", "classify", "--data", bad, "--steps", "1", "-o", path("m.safetensors")])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "gingeropt: \(bad): line 3: column 'y' is not a number: 'four'\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("m.safetensors")))
        let usage = try TestSupport.run(gingeropt, ["--data", bad, "-o", path("m"), "--lambda", "0"])
        XCTAssertEqual(usage.status, 2)
        let mixed = try TestSupport.run(gingeropt, ["--task", "classify", "--config", "small", "--data", bad, "-o", path("m")])
        XCTAssertEqual(mixed.status, 2)
        XCTAssertTrue(mixed.stderr.hasPrefix("gingeropt: --task classify builds its MLP from --hidden"), mixed.stderr)
    }
}
