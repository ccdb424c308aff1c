import FuzzTargets
import Foundation
import XCTest

/// Replays every input that made a fuzzer find a bug (FuzzRegressions/<fuzzer>/), and the seed corpora,
/// through the same entry points libFuzzer uses. A regression crashes the test process.
final class FuzzRegressionTests: XCTestCase {
    private static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    private func replay(_ folder: URL, _ target: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return 0 }
        for name in names.sorted() {
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            data.withUnsafeBytes { target($0) }
        }
        return names.count
    }

    private func replayAll(_ fuzzer: String, _ target: (UnsafeRawBufferPointer) -> Void) throws {
        let regressions = try replay(Self.here.appendingPathComponent("FuzzRegressions").appendingPathComponent(fuzzer), target)
        let seeds = try replay(Self.here.appendingPathComponent("../../Fuzz/Seeds").appendingPathComponent(fuzzer).standardized, target)
        XCTAssertGreaterThan(regressions + seeds, 0, "no inputs found for \(fuzzer)")
    }

    func testSafetensorsInputs() throws { try replayAll("fuzz-safetensors", FuzzTargets.checkpoint) }
    func testGGUFInputs() throws { try replayAll("fuzz-gguf", FuzzTargets.checkpoint) }
    func testShardIndexInputs() throws { try replayAll("fuzz-shard-index", FuzzTargets.shardIndex) }
    func testNZInputs() throws { try replayAll("fuzz-nz", FuzzTargets.nz) }
    func testEntropyDecoderInputs() throws { try replayAll("fuzz-entropy", FuzzTargets.entropyDecoder) }
}
