import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line progress bar on standard error, redrawn at most ten times a second; silent when disabled.
public final class Progress {
    private let label: String
    private let total: Int?
    private let enabled: Bool
    private var lastDraw: UInt64 = 0
    private var drawn = false

    public init(label: String, total: Int?, enabled: Bool) {
        self.label = label
        self.total = total
        self.enabled = enabled
    }

    /// Reports `done` bytes processed.
    public func update(_ done: Int) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastDraw > 100_000_000 else { return }
        lastDraw = now
        var line = "\r\(label): \(Format.bytes(done))"
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 30
            let filled = Int(fraction * Double(width))
            line += " / \(Format.bytes(total)) [" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
                + "] \(Int(fraction * 100))%"
        }
        ToolRunner.writeRaw(line + "\u{1B}[K")
        drawn = true
    }

    /// Clears the bar.
    public func finish() {
        guard enabled, drawn else { return }
        ToolRunner.writeRaw("\r\u{1B}[K")
    }
}
