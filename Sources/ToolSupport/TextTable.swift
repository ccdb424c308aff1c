/// A plain-text table for terminal output: columns padded to their widest cell, the first column
/// left-aligned and the others right-aligned (they hold numbers), two spaces between columns.
public struct TextTable {
    private var rows: [[String]]
    /// Columns that are left-aligned (by index); the first one always is.
    private let leftAligned: Set<Int>

    public init(header: [String], leftAligned: Set<Int> = [0]) {
        rows = [header]
        self.leftAligned = leftAligned.union([0])
    }

    public mutating func append(_ row: [String]) { rows.append(row) }

    /// The table as lines of text, without trailing spaces.
    public func render() -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = Array(repeating: 0, count: columns)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let padding = String(repeating: " ", count: widths[i] - cell.count)
                return leftAligned.contains(i) ? cell + padding : padding + cell
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}

/// Number formatting shared by the tools' reports.
public enum Format {
    /// An integer with thousands separators: 134515008 -> "134,515,008".
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return value < 0 ? "-" + out : out
    }

    /// A byte count in human units: "98.2 MB" (decimal, as zstd -l prints).
    public static func bytes(_ value: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var scaled = Double(value)
        var unit = 0
        while scaled >= 1000 && unit < units.count - 1 { scaled /= 1000; unit += 1 }
        return unit == 0 ? "\(value) B" : fixed(scaled, 1) + " " + units[unit]
    }

    /// `value` with `digits` digits after the point; "nan", "inf" and "-inf" for the rest.
    public static func fixed(_ value: Double, _ digits: Int) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = String(rounded)
        if text.contains("e") { return scientific(value, digits) }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        if digits == 0 { return String(parts[0]) }
        text = String(parts[0]) + "." + (fraction + String(repeating: "0", count: digits)).prefix(digits)
        return text
    }

    /// A compact general format for values of any magnitude (4 significant digits).
    public static func general(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value == 0 { return "0" }
        let magnitude = value.magnitude
        if magnitude >= 1e-3 && magnitude < 1e5 {
            let digits = max(0, 3 - Int(log10(magnitude).rounded(.down)))
            return fixed(value, digits)
        }
        return scientific(value, 3)
    }

    /// Scientific notation with `digits` digits after the point: 1.234e-05.
    public static func scientific(_ value: Double, _ digits: Int) -> String {
        if !value.isFinite || value == 0 { return value == 0 ? "0" : fixed(value, 0) }
        var exponent = Int(log10(value.magnitude).rounded(.down))
        var mantissa = value / pow(10, Double(exponent))
        if fixed(mantissa.magnitude, digits).hasPrefix("10") { mantissa /= 10; exponent += 1 }
        let sign = exponent < 0 ? "-" : "+"
        let e = String(exponent.magnitude)
        return fixed(mantissa, digits) + "e" + sign + (e.count < 2 ? "0" + e : e)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
