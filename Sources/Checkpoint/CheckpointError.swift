/// Every failure of the checkpoint library: which file, and what is wrong with it (and where).
/// Its description is the one-line message the tools print after their own name.
public struct CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The path as the user gave it, or "<stdin>" / "<stdout>".
    public var file: String
    /// What is wrong, starting lower-case, without a trailing period.
    public var message: String

    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

/// A problem found while decoding a format, before the file name is known to the decoder.
/// `CheckpointError` is built from it at the boundary where the path is known.
public struct FormatError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// This error, attributed to `file`.
    public func at(_ file: String) -> CheckpointError { CheckpointError(file: file, message) }
}
