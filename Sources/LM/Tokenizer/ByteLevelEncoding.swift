/// GPT-2's byte-level alphabet: every byte maps to one printable Unicode character (printable ASCII and
/// Latin-1 stand for themselves, the other 68 bytes for U+0100...U+0143), so that any byte string is a
/// string of vocabulary characters and BPE never meets an unknown byte.
enum ByteLevelEncoding {
    /// Byte -> character.
    static let characters: [Character] = {
        var table = [Character](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Character(Unicode.Scalar(UInt32(byte))!)
            } else {
                table[byte] = Character(Unicode.Scalar(next)!)
                next += 1
            }
        }
        return table
    }()

    /// Character -> byte, for decoding.
    static let bytes: [Unicode.Scalar: UInt8] = {
        var map: [Unicode.Scalar: UInt8] = [:]
        for (byte, character) in characters.enumerated() { map[character.unicodeScalars.first!] = UInt8(byte) }
        return map
    }()

    /// The byte-level form of some UTF-8 bytes.
    static func encode<S: Sequence>(_ utf8: S) -> String where S.Element == UInt8 {
        var out = ""
        for byte in utf8 { out.append(characters[Int(byte)]) }
        return out
    }
}
