import Checkpoint

/// Building JSON reports: numbers from Swift values, with non-finite floats as null (JSON has no NaN).
public enum JSONOutput {
    public static func number(_ value: Int) -> JSONValue { .number(String(value)) }

    public static func number(_ value: Double) -> JSONValue {
        guard value.isFinite else { return .null }
        if value == value.rounded() && value.magnitude < 1e15 { return .number(String(Int(value))) }
        return .number("\(value)")
    }

    /// A metadata value: scalars as JSON scalars, short arrays in full, long arrays (vocabularies) as a
    /// summary object with their element type and length.
    public static func metadata(_ value: GGUFValue, fullArrayLimit: Int = 64) -> JSONValue {
        switch value {
        case .string: return .string(value.summary)
        case .bool(let flag): return .bool(flag)
        case .float32, .float64: return number(value.doubleValue ?? .nan)
        case .array(let elementType, let elements):
            if elements.count > fullArrayLimit {
                return .object([("type", .string("array")), ("element_type", .string("\(elementType)")),
                                ("length", number(elements.count))])
            }
            return .array(elements.map { metadata($0, fullArrayLimit: fullArrayLimit) })
        default: return value.integerValue.map(number) ?? .string(value.summary)
        }
    }

    /// Prints a JSON value as one line on standard output.
    public static func printLine(_ value: JSONValue) {
        print(JSONWriter.string(value))
    }
}
