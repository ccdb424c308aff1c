import Checkpoint
import Foundation
import TestSupport
import XCTest

/// Faults injected into runs of the built tools: signals, unwritable outputs, closed pipes, inputs that
/// change underneath. Each must end in a clear one-line error (or a quiet exit), exit status 1 (or
/// 128 + signal), and no partial or temporary file.
final class FaultTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = try TestSupport.temporaryDirectory(self)
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A BF16 checkpoint of `megabytes` MB of data (header first, so it can be fed in pieces).
    private func checkpointBytes(megabytes: Int) throws -> Data {
        let header = try SafetensorsHeader.contiguous([("w", .bf16, [megabytes << 19])], metadata: nil)
        var generator = TestSupport.SeededGenerator(seed: 3)
        let block = (0..<(1 << 20)).map { i in i % 2 == 0 ? UInt8.random(in: 0...255, using: &generator) : 0x3C | UInt8(i & 128) }
        var data = Data(header.serialized())
        for _ in 0..<megabytes { data.append(contentsOf: block) }
        return data
    }

    private func temporaries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
    }

    private func waitFor(_ condition: () throws -> Bool, seconds: Double = 20) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(10_000)
        }
        return false
    }

    /// A tool is interrupted while its output is half written: the temporary file goes, an older output
    /// stays as it was, and the exit status is 128 + signal.
    func testSignalsWhileWritingLeaveNothingPartial() throws {
        let input = try checkpointBytes(megabytes: 4)
        let packed = try TestSupport.run(try TestSupport.tool("nzip"), ["-c"], stdin: input).stdout
        for (tool, data, signal) in [("nzip", input, SIGINT), ("nunzip", packed, SIGTERM), ("nzip", input, SIGTERM)] {
            let output = path("out-\(tool)")
            try Data("previous output".utf8).write(to: URL(fileURLWithPath: output))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try TestSupport.tool(tool))
            process.arguments = ["-q", "-f", "-o", output]
            let stdin = Pipe()
            process.standardInput = stdin
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Half the input, then wait with the pipe open: the tool is mid-run with a temporary file.
            try stdin.fileHandleForWriting.write(contentsOf: data.prefix(data.count / 2))
            XCTAssertTrue(try waitFor { try !temporaries().isEmpty }, "\(tool) made no temporary output")
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            try? stdin.fileHandleForWriting.close()
            XCTAssertEqual(process.terminationReason, .exit, "\(tool) died of the signal instead of handling it")
            XCTAssertEqual(process.terminationStatus, 128 + signal, tool)
            XCTAssertEqual(try temporaries(), [], "\(tool) left a temporary file")
            XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "previous output", "\(tool) touched the old output")
        }
    }

    /// Outputs that cannot be written: a missing folder, a file-size limit standing in for a full disk,
    /// and (as an unprivileged user) a read-only folder.
    func testUnwritableOutputsFailCleanly() throws {
        let nzip = try TestSupport.tool("nzip")
        let input = path("in.safetensors")
        try checkpointBytes(megabytes: 2).write(to: URL(fileURLWithPath: input))

        var result = try TestSupport.run(nzip, ["-q", "-o", path("missing/out.nz"), input])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasPrefix("nzip: \(path("missing/out.nz")): cannot create output"), result.stderr)

        result = try TestSupport.run("/bin/bash", ["-c", "ulimit -f 64; exec '\(nzip)' -q -o '\(path("big.nz"))' '\(input)'"])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertFalse(result.crashed)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("File too large"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("big.nz")))
        XCTAssertEqual(try temporaries(), [])

        let readOnly = path("ro")
        try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: false)
        chmod(readOnly, 0o555)
        chmod(dir.path, 0o755)
        chmod(input, 0o644)
        defer { chmod(readOnly, 0o755) }
        // Root ignores permissions; run the tool as nobody where possible.
        var prefix: [String] = []
        if getuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
                throw XCTSkip("running as root without setpriv: a read-only folder cannot be tested")
            }
            prefix = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            let reachable = try TestSupport.run(prefix[0], Array(prefix.dropFirst()) + ["/usr/bin/test", "-x", nzip, "-a", "-r", input])
            guard reachable.status == 0 else {
                throw XCTSkip("the user nobody cannot run \(nzip) or read the input here: a read-only folder cannot be tested")
            }
        }
        result = try TestSupport.run(prefix.first ?? nzip, Array(prefix.dropFirst()) + (prefix.isEmpty ? [] : [nzip]) + ["-q", "-o", readOnly + "/out.nz", input])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("cannot create output"), result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: readOnly), [])
    }

    /// Downstream closes the pipe early: a quiet exit, no crash, no messages.
    func testClosedPipeIsAQuietExit() throws {
        let nzip = try TestSupport.tool("nzip"), nunzip = try TestSupport.tool("nunzip")
        let input = path("in.safetensors")
        try checkpointBytes(megabytes: 8).write(to: URL(fileURLWithPath: input))
        for command in ["'\(nzip)' -c '\(input)' | head -c 100 > /dev/null; echo ${PIPESTATUS[0]}",
                        "'\(nzip)' -c '\(input)' | '\(nunzip)' | head -c 10 > /dev/null; echo ${PIPESTATUS[1]}"] {
            let result = try TestSupport.run("/bin/bash", ["-c", command])
            XCTAssertEqual(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "141", command)
            XCTAssertEqual(result.stderr, "", "no message spam")
        }
    }

    /// An input truncated or replaced during a run: detected and reported, and no output is kept.
    func testInputChangingDuringTheRunIsDetected() throws {
        let nzip = try TestSupport.tool("nzip")
        let data = try checkpointBytes(megabytes: 96)
        for change in ["truncate", "replace"] {
            let input = path("in-\(change).safetensors")
            try data.write(to: URL(fileURLWithPath: input))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: nzip)
            process.arguments = ["-q", "-T", "1", "-o", path("out-\(change).nz"), input]
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            // The temporary output exists once the input is open and its header read: change it then.
            XCTAssertTrue(try waitFor { try !temporaries().isEmpty || !process.isRunning })
            if change == "truncate" {
                truncate(input, 1000)
            } else {
                try Data("replacement".utf8).write(to: URL(fileURLWithPath: input + ".new"))
                rename(input + ".new", input)
            }
            process.waitUntilExit()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            if process.terminationStatus == 0 {
                // Finished before the change: nothing to detect, and the output is the full original.
                continue
            }
            XCTAssertEqual(process.terminationStatus, 1, message)
            XCTAssertEqual(process.terminationReason, .exit, "died of a signal: \(message)")
            XCTAssertTrue(message.hasPrefix("nzip: \(input): input "), message)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("out-\(change).nz")), "no output from a changed input")
            XCTAssertEqual(try temporaries(), [])
        }
    }

    /// Headers that claim terabytes, through pipes: refused without allocating anything like it.
    func testHugeClaimsKeepMemorySmall() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else { throw XCTSkip("/usr/bin/time is not installed (Debian package time)") }
        let mstat = try TestSupport.tool("mstat"), nunzip = try TestSupport.tool("nunzip")
        let terabyte = 1 << 40
        let safetensors = try SafetensorsHeader.contiguous([("w", .u8, [terabyte])], metadata: nil).serialized() + [UInt8](repeating: 1, count: 1000)
        let gguf = try GGUFHeader.layout(metadata: [], tensors: [("w", .f32, [terabyte / 4])]).serialized() + [UInt8](repeating: 1, count: 1000)
        var nz = NZFormat.magic + [NZFormat.version, 0, 0, 1]
        nz += [2, 2, 0, 0, 0, 0, 0, 0] + [0xFF, 0xFF, 0xFF, 0x7F] + [0xFF, 0xFF, 0xFF, 0x7F] + [UInt8](repeating: 0, count: 8)
        for (tool, arguments, bytes) in [(mstat, ["stats", "-"], safetensors), (mstat, ["stats", "-"], gguf), (nunzip, ["-c"], nz)] {
            let rss = path("rss")
            let result = try TestSupport.run("/usr/bin/time", ["-f", "%M", "-o", rss, tool] + arguments, stdin: Data(bytes))
            XCTAssertEqual(result.status, 1, result.stderr)
            XCTAssertFalse(result.crashed)
            // time(1) writes "Command exited with non-zero status 1" before the number.
            let report = try String(contentsOfFile: rss, encoding: .utf8).split(separator: "\n").last.map(String.init) ?? ""
            let kilobytes = Int(report.trimmingCharacters(in: .whitespaces)) ?? .max
            XCTAssertLessThan(kilobytes, 200_000, "\(tool) \(arguments): peak RSS \(kilobytes) KB for a claim of a terabyte")
        }
    }
}
