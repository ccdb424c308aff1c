import Kernels

/// Converts tensor bytes (little-endian, any `TensorType`) to Float and plain types back from Float.
/// Narrowing conversions round to nearest even; float-to-integer conversions round to nearest even and
/// saturate, with NaN becoming 0.
public enum ElementCodec {
    /// Decodes `output.count` elements from `bytes`, which must hold exactly that many elements of `type`.
    public static func decode(_ type: TensorType, _ bytes: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<Float>) throws {
        guard let expected = type.byteCount(elements: output.count), expected == bytes.count else {
            throw FormatError("\(bytes.count) bytes do not hold \(output.count) elements of \(type)")
        }
        let n = output.count
        guard let out = output.baseAddress else { return }
        switch type {
        case .f32:
            UnsafeMutableRawBufferPointer(output).copyMemory(from: bytes)
        case .f64: for i in 0..<n { out[i] = Float(bytes.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        case .f16: for i in 0..<n { out[i] = NarrowFloat.halfToFloat(bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bf16: for i in 0..<n { out[i] = NarrowFloat.bfloat16ToFloat(bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .f8e4m3: decodeFloat8(bytes, table: float8E4M3Table, into: out)
        case .f8e5m2: decodeFloat8(bytes, table: float8E5M2Table, into: out)
        case .i8: for i in 0..<n { out[i] = Float(Int8(bitPattern: bytes[i])) }
        case .u8: for i in 0..<n { out[i] = Float(bytes[i]) }
        case .bool: for i in 0..<n { out[i] = bytes[i] == 0 ? 0 : 1 }
        case .i16: for i in 0..<n { out[i] = Float(bytes.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
        case .u16: for i in 0..<n { out[i] = Float(bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .i32: for i in 0..<n { out[i] = Float(bytes.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
        case .u32: for i in 0..<n { out[i] = Float(bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        case .i64: for i in 0..<n { out[i] = Float(bytes.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
        case .u64: for i in 0..<n { out[i] = Float(bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2K, .q3K, .q4K, .q5K, .q6K, .iq4NL:
            BlockDequantizer.dequantize(type, bytes, into: out, blocks: n / type.blockElements)
        case .otherGGML:
            throw FormatError("decoding \(type) is not supported")
        }
    }

    /// Encodes floats as a plain (non-block) type. Block types are the quantizers' job (invarq).
    public static func encode(_ input: UnsafeBufferPointer<Float>, as type: TensorType, into bytes: UnsafeMutableRawBufferPointer) throws {
        guard !type.isBlockQuantized, let expected = type.byteCount(elements: input.count), expected == bytes.count else {
            throw FormatError("cannot encode \(input.count) floats as \(type) into \(bytes.count) bytes")
        }
        for (i, value) in input.enumerated() {
            switch type {
            case .f32: bytes.storeBytes(of: value, toByteOffset: 4 * i, as: Float.self)
            case .f64: bytes.storeBytes(of: Double(value), toByteOffset: 8 * i, as: Double.self)
            case .f16: bytes.storeBytes(of: NarrowFloat.floatToHalf(value), toByteOffset: 2 * i, as: UInt16.self)
            case .bf16: bytes.storeBytes(of: NarrowFloat.floatToBFloat16(value), toByteOffset: 2 * i, as: UInt16.self)
            case .f8e4m3: bytes[i] = Float8Format.e4m3fn.encode(value)
            case .f8e5m2: bytes[i] = Float8Format.e5m2.encode(value)
            case .bool: bytes[i] = value == 0 || value.isNaN ? 0 : 1
            case .i8: bytes[i] = UInt8(bitPattern: saturatingInteger(value))
            case .u8: bytes[i] = saturatingInteger(value)
            case .i16: bytes.storeBytes(of: saturatingInteger(value) as Int16, toByteOffset: 2 * i, as: Int16.self)
            case .u16: bytes.storeBytes(of: saturatingInteger(value) as UInt16, toByteOffset: 2 * i, as: UInt16.self)
            case .i32: bytes.storeBytes(of: saturatingInteger(value) as Int32, toByteOffset: 4 * i, as: Int32.self)
            case .u32: bytes.storeBytes(of: saturatingInteger(value) as UInt32, toByteOffset: 4 * i, as: UInt32.self)
            case .i64: bytes.storeBytes(of: saturatingInteger(value) as Int64, toByteOffset: 8 * i, as: Int64.self)
            case .u64: bytes.storeBytes(of: saturatingInteger(value) as UInt64, toByteOffset: 8 * i, as: UInt64.self)
            default: break
            }
        }
    }

    /// Round to nearest even, clamp into the integer type's range, NaN to 0.
    static func saturatingInteger<I: FixedWidthInteger>(_ value: Float) -> I {
        if value.isNaN { return 0 }
        let rounded = value.rounded(.toNearestOrEven)
        if rounded <= Float(I.min) { return I.min }
        if rounded >= Float(I.max) { return I.max }
        return I(rounded)
    }

    private static let float8E4M3Table: [Float] = (0..<256).map { Float8Format.e4m3fn.decode(UInt8($0)) }
    private static let float8E5M2Table: [Float] = (0..<256).map { Float8Format.e5m2.decode(UInt8($0)) }

    private static func decodeFloat8(_ bytes: UnsafeRawBufferPointer, table: [Float], into out: UnsafeMutablePointer<Float>) {
        table.withUnsafeBufferPointer { lookup in
            for i in 0..<bytes.count { out[i] = lookup[Int(bytes[i])] }
        }
    }
}
