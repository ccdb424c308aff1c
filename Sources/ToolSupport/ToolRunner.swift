import ArgumentParser
import Checkpoint
import Kernels
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `main` of every tool: parses arguments the swift-argument-parser way but reports like zstd and xz
/// do. Errors print one line `tool: file: problem` and exit 1; usage errors print the message and the
/// usage line and exit 2; SIGINT/SIGTERM remove unfinished output files and exit 128 + signal.
public enum ToolRunner {
    /// Runs the root command `Command` with the process arguments.
    public static func main<Command: ParsableCommand>(_: Command.Type, arguments: [String]? = nil) -> Never {
        installSignalCleanup(Command.self)
        AllocatorTuning.keepChunkBuffers()
        Gemm.quietBLASWorkers()
        let toolName = Command.configuration.commandName ?? "tool"
        do {
            var command = try Command.parseAsRoot(arguments ?? Array(CommandLine.arguments.dropFirst()))
            try command.run()
            exit(0)
        } catch is BrokenPipe {
            // Downstream closed the pipe early: leave quietly, with the status a shell expects of a
            // writer whose reader is gone (128 + SIGPIPE), and no output files half-written.
            AtomicFile.removeAllPending()
            exit(128 + SIGPIPE)
        } catch let error as CheckpointError {
            fail(toolName, error.description)
        } catch let error as ToolError {
            fail(toolName, error.description)
        } catch {
            // The parser's own outcomes: help and version (exit 0), usage errors (exit 2).
            let code = Command.exitCode(for: error)
            if code == .success {
                print(Command.fullMessage(for: error))
                exit(0)
            }
            if code == .validationFailure {
                usageError(Command.self, toolName, error)
            }
            if let exitCode = error as? ExitCode { exit(exitCode.rawValue) }
            fail(toolName, "\(error)")
        }
    }

    /// "Error: what\nUsage: ...\n  See '...'": printed as is, but naming the tool the way zstd does; exit 2.
    private static func usageError<Command: ParsableCommand>(_: Command.Type, _ toolName: String, _ error: Error) -> Never {
        var lines = Command.fullMessage(for: error).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let first = lines.first {
            lines[0] = "\(toolName): " + (first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first)
        }
        writeError(lines.joined(separator: "\n"))
        exit(2)
    }

    private static func fail(_ tool: String, _ message: String) -> Never {
        AtomicFile.removeAllPending()
        writeError("\(tool): \(message)")
        exit(1)
    }

    /// Writes one line to standard error.
    public static func writeError(_ line: String) {
        writeRaw(line.hasSuffix("\n") ? line : line + "\n")
    }

    /// Writes text to standard error as it is.
    public static func writeRaw(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { buffer in
            Glibc.write(STDERR_FILENO, buffer.baseAddress!, buffer.count - 1)
        }
    }

    nonisolated(unsafe) private static var signalSources: [DispatchSourceSignal] = []
    /// 0: signals end the process; 1: the first signal is only recorded; 2 + signal: one was recorded.
    private static let interruption = Atomic<Int>(0)

    /// From now on the first SIGINT or SIGTERM is only recorded (`interruptedBy`), so that a long job can
    /// finish its step and save; a second one ends the process as usual.
    public static func deferInterruptions() {
        interruption.store(1, ordering: .sequentiallyConsistent)
    }

    /// The signal recorded since `deferInterruptions`, if any.
    public static var interruptedBy: Int32? {
        let state = interruption.load(ordering: .sequentiallyConsistent)
        return state >= 2 ? Int32(state - 2) : nil
    }

    /// SIGINT and SIGTERM: remove temporary outputs, exit 128 + signal.
    private static func installSignalCleanup<Command: ParsableCommand>(_: Command.Type) {
        // Write errors are reported where they happen: EPIPE (a closed pipe) and EFBIG (a file-size
        // limit, standing in for a full disk) instead of being killed by SIGPIPE or SIGXFSZ.
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
        MappedInputGuard.install(toolName: Command.configuration.commandName ?? "tool")
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if interruption.compareExchange(expected: 1, desired: 2 + Int(number), ordering: .sequentiallyConsistent).exchanged {
                    writeError("\(Command.configuration.commandName ?? "tool"): interrupted: finishing the step and saving (again to quit at once)")
                    return
                }
                AtomicFile.removeAllPending()
                _exit(128 + number)
            }
            source.resume()
            signalSources.append(source)
        }
    }
}

/// A tool-level error that is not about a checkpoint's bytes (bad option combinations found late, a
/// refused terminal, a mismatch between two inputs).
public struct ToolError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

