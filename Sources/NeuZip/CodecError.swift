/// A decoding failure inside the codec: corrupt or truncated compressed data.
public struct CodecError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
