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
    private let format: (Int) -> String
    private var lastDraw: UInt64 = 0
    private var drawn = false

    /// A bar for `total` units (bytes unless `format` says otherwise).
    public init(label: String, total: Int?, enabled: Bool, format: @escaping (Int) -> String = Format.bytes) {
        self.label = label
        self.total = total
        self.enabled = enabled
        self.format = format
    }

    /// Reports `done` units processed.
    public func update(_ done: Int) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastDraw > 100_000_000 else { return }
        lastDraw = now
        var line = "\r\(label): \(format(done))"
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 30
            let filled = Int(fraction * Double(width))
            line += " / \(format(total)) [" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
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
