/// How one byte plane is stored: whichever of raw, constant or rANS is smallest.
public enum PlaneEncoding: UInt8, Sendable {
    case raw = 0
    case constant = 1
    case rans = 2
}

/// Encodes and decodes byte planes. Layout of an encoded plane: encoding (u8), payload length (u32 LE),
/// payload.
enum PlaneCodec {
    /// rANS is kept only when it saves at least this fraction; otherwise raw is both smaller to decode
    /// and barely larger.
    static let minimumSaving = 0.01

    static func encode(_ plane: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        if let first = plane.first, plane.allSatisfy({ $0 == first }) {
            append(.constant, [first], to: &out)
            return
        }
        if let coded = RANS.encode(plane, minimumSaving: minimumSaving), Double(coded.count) < Double(plane.count) * (1 - minimumSaving) {
            append(.rans, coded, to: &out)
            return
        }
        append(.raw, Array(plane), to: &out)
    }

    private static func append(_ encoding: PlaneEncoding, _ payload: [UInt8], to out: inout [UInt8]) {
        out.append(encoding.rawValue)
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: payload)
    }

    /// If the next plane is stored raw with `count` bytes, consumes it and returns where it lies;
    /// otherwise leaves the reader where it was and returns nil.
    static func rawPlane(_ reader: inout ByteReader, count: Int) throws -> UnsafeRawBufferPointer? {
        var peek = reader
        guard try peek.byte() == PlaneEncoding.raw.rawValue else { return nil }
        let length = Int(try peek.u32())
        guard length == count else { throw CodecError("raw plane of \(length) bytes, expected \(count)") }
        let bytes = try peek.bytes(length)
        reader = peek
        return bytes
    }

    /// Decodes one plane starting at `reader`'s position into `output` (whose size the caller knows).
    static func decode(_ reader: inout ByteReader, into output: UnsafeMutableBufferPointer<UInt8>) throws {
        let tag = try reader.byte()
        let length = Int(try reader.u32())
        let payload = try reader.bytes(length)
        switch PlaneEncoding(rawValue: tag) {
        case .raw:
            guard length == output.count else { throw CodecError("raw plane of \(length) bytes, expected \(output.count)") }
            if length > 0 { UnsafeMutableRawBufferPointer(output).copyMemory(from: payload) }
        case .constant:
            guard length == 1 else { throw CodecError("constant plane with \(length) bytes") }
            output.update(repeating: payload[0])
        case .rans:
            try RANS.decode(payload, into: output)
        case nil:
            throw CodecError("unknown plane encoding \(tag)")
        }
    }
}

/// Bounds-checked sequential reading of a compressed chunk.
struct ByteReader {
    let data: UnsafeRawBufferPointer
    var position = 0

    init(_ data: UnsafeRawBufferPointer) { self.data = data }

    var remaining: Int { data.count - position }

    mutating func bytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw CodecError("chunk data ends early") }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: data[position..<(position + count)])
    }

    mutating func byte() throws -> UInt8 { try bytes(1)[0] }

    mutating func u32() throws -> UInt32 {
        UInt32(littleEndian: try bytes(4).loadUnaligned(as: UInt32.self))
    }
}
