/// The tokenizer of models trained from scratch on raw bytes: id = byte value, 256 ids, no BOS.
public final class ByteTokenizer: Tokenizer {
    public init() {}

    public var vocabularySize: Int { 256 }
    public var bosToken: Int32? { nil }
    public var addsBOS: Bool { false }

    public func encode(_ text: String) -> [Int32] { text.utf8.map { Int32($0) } }

    public func decodeBytes(_ ids: [Int32]) -> [UInt8] {
        ids.compactMap { (0..<256).contains($0) ? UInt8($0) : nil }
    }

    public func pieceText(_ id: Int32) -> String {
        guard (0..<256).contains(id) else { return "" }
        let byte = UInt8(id)
        return (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "<0x" + String(byte, radix: 16, uppercase: true).leftPadded(2) + ">"
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
