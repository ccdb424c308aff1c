/// NeuZip's codec for one chunk of floats. Each value is split into its exponent (one byte per value,
/// entropy-coded: trained weights use few exponents) and its sign and mantissa bits (byte planes, coded
/// where that helps, raw where not). Lossless mode restores every bit, NaN payloads and -0 included.
/// Lossy mode first rounds each value to `keptBits` mantissa bits (`FloatLayout.round`) and packs sign
/// and kept bits tightly; infinities and NaN are kept exactly in an exception list.
///
/// Payload: mode (u8: 0 lossless, 1 lossy), [kept bits (u8)], [exception count (u32), (index u32,
/// bits u32)...], exponent plane, then the sign/mantissa plane(s), each as `PlaneCodec` writes it.
public enum FloatChunkCodec {
    /// Compresses `count` values of `layout` from `input` (little-endian).
    public static func encode(_ input: UnsafeRawBufferPointer, layout: FloatLayout, keptBits: Int? = nil) -> [UInt8] {
        let n = input.count / layout.byteWidth
        var out: [UInt8] = []
        var exponents = uninitializedBytes(n)
        if let keptBits, keptBits < layout.mantissaBits {
            out += [1, UInt8(keptBits)]
            let fieldBits = 1 + keptBits
            var packed = [UInt8](repeating: 0, count: (n * fieldBits + 7) / 8)
            var exceptions: [(UInt32, UInt32)] = []
            let dropped = UInt32(layout.mantissaBits - keptBits)
            var bitPosition = 0
            for i in 0..<n {
                let bits = loadBits(input, i, layout.byteWidth)
                let exponent = (bits >> UInt32(layout.mantissaBits)) & layout.exponentMask
                if exponent == layout.exponentMask { exceptions.append((UInt32(i), bits)) }
                let rounded = layout.round(bits, keptBits: keptBits)
                exponents[i] = UInt8(truncatingIfNeeded: rounded >> UInt32(layout.mantissaBits))
                let field = (rounded >> layout.signShift) << UInt32(keptBits) | (rounded & layout.mantissaMask) >> dropped
                writeBits(&packed, &bitPosition, field, fieldBits)
            }
            withUnsafeBytes(of: UInt32(exceptions.count).littleEndian) { out += $0 }
            for (index, bits) in exceptions {
                withUnsafeBytes(of: index.littleEndian) { out += $0 }
                withUnsafeBytes(of: bits.littleEndian) { out += $0 }
            }
            exponents.withUnsafeBufferPointer { PlaneCodec.encode($0, into: &out) }
            packed.withUnsafeBufferPointer { PlaneCodec.encode($0, into: &out) }
            return out
        }
        out.append(0)
        let planeCount = (1 + layout.mantissaBits + 7) / 8
        var planes = (0..<planeCount).map { _ in uninitializedBytes(n) }
        split(input, n, layout, &exponents, &planes)
        exponents.withUnsafeBufferPointer { PlaneCodec.encode($0, into: &out) }
        for plane in planes { plane.withUnsafeBufferPointer { PlaneCodec.encode($0, into: &out) } }
        return out
    }

    /// Restores `output.count / byteWidth` values into `output` from `encoded`.
    public static func decode(_ encoded: UnsafeRawBufferPointer, layout: FloatLayout, into output: UnsafeMutableRawBufferPointer) throws {
        let n = output.count / layout.byteWidth
        var reader = ByteReader(encoded)
        var exponents = uninitializedBytes(n)
        let mode = try reader.byte()
        if mode == 1 {
            let keptBits = Int(try reader.byte())
            guard keptBits < layout.mantissaBits else { throw CodecError("lossy chunk keeps \(keptBits) mantissa bits") }
            let exceptionCount = Int(try reader.u32())
            guard exceptionCount <= n else { throw CodecError("more exceptions than values") }
            let exceptionBytes = try reader.bytes(8 * exceptionCount)
            try exponents.withUnsafeMutableBufferPointer { e in try PlaneCodec.decode(&reader, into: e) }
            let fieldBits = 1 + keptBits
            var packed = [UInt8](repeating: 0, count: (n * fieldBits + 7) / 8)
            try packed.withUnsafeMutableBufferPointer { p in try PlaneCodec.decode(&reader, into: p) }
            let dropped = UInt32(layout.mantissaBits - keptBits)
            var bitPosition = 0
            for i in 0..<n {
                let field = readBits(packed, &bitPosition, fieldBits)
                let sign = field >> UInt32(keptBits)
                let mantissa = (field & ((1 << UInt32(keptBits)) - 1)) << dropped
                let bits = sign << layout.signShift | UInt32(exponents[i]) << UInt32(layout.mantissaBits) | mantissa
                storeBits(output, i, layout.byteWidth, bits)
            }
            for k in 0..<exceptionCount {
                let index = Int(UInt32(littleEndian: exceptionBytes.loadUnaligned(fromByteOffset: 8 * k, as: UInt32.self)))
                guard index < n else { throw CodecError("exception index out of range") }
                storeBits(output, index, layout.byteWidth, UInt32(littleEndian: exceptionBytes.loadUnaligned(fromByteOffset: 8 * k + 4, as: UInt32.self)))
            }
        } else if mode == 0 {
            try exponents.withUnsafeMutableBufferPointer { e in try PlaneCodec.decode(&reader, into: e) }
            let planeCount = (1 + layout.mantissaBits + 7) / 8
            var planes = (0..<planeCount).map { _ in uninitializedBytes(n) }
            for k in 0..<planeCount {
                try planes[k].withUnsafeMutableBufferPointer { p in try PlaneCodec.decode(&reader, into: p) }
            }
            merge(exponents, planes, n, layout, output)
        } else {
            throw CodecError("unknown float chunk mode \(mode)")
        }
        guard reader.remaining == 0 else { throw CodecError("\(reader.remaining) unexpected bytes after the planes") }
    }

    /// A byte array whose contents the caller overwrites completely (skips zero-filling).
    static func uninitializedBytes(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    // MARK: splitting and merging (the hot loops)

    /// Exponent byte, and sign-and-mantissa (sign on top) cut into byte planes, lowest byte first.
    private static func split(_ input: UnsafeRawBufferPointer, _ n: Int, _ layout: FloatLayout, _ exponents: inout [UInt8], _ planes: inout [[UInt8]]) {
        let m = UInt32(layout.mantissaBits), signShift = layout.signShift, expMask = layout.exponentMask, manMask = layout.mantissaMask
        exponents.withUnsafeMutableBufferPointer { e in
            if layout == .bfloat16 {
                planes[0].withUnsafeMutableBufferPointer { p in
                    for i in 0..<n {
                        let v = input.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                        e[i] = UInt8(truncatingIfNeeded: v >> 7)
                        p[i] = UInt8(truncatingIfNeeded: (v >> 8) & 0x80 | v & 0x7F)
                    }
                }
                return
            }
            for i in 0..<n {
                let bits = loadBits(input, i, layout.byteWidth)
                e[i] = UInt8(truncatingIfNeeded: (bits >> m) & expMask)
                let sm = (bits >> signShift) << m | bits & manMask
                for k in 0..<planes.count { planes[k][i] = UInt8(truncatingIfNeeded: sm >> UInt32(8 * k)) }
            }
        }
    }

    private static func merge(_ exponents: [UInt8], _ planes: [[UInt8]], _ n: Int, _ layout: FloatLayout, _ output: UnsafeMutableRawBufferPointer) {
        let m = UInt32(layout.mantissaBits), signShift = layout.signShift, manMask = layout.mantissaMask
        exponents.withUnsafeBufferPointer { e in
            if layout == .bfloat16 {
                planes[0].withUnsafeBufferPointer { p in
                    for i in 0..<n {
                        let s = UInt16(p[i]), x = UInt16(e[i])
                        output.storeBytes(of: (s & 0x80) << 8 | x << 7 | s & 0x7F, toByteOffset: 2 * i, as: UInt16.self)
                    }
                }
                return
            }
            for i in 0..<n {
                var sm: UInt32 = 0
                for k in 0..<planes.count { sm |= UInt32(planes[k][i]) << UInt32(8 * k) }
                let bits = (sm >> m) << signShift | UInt32(e[i]) << m | sm & manMask
                storeBits(output, i, layout.byteWidth, bits)
            }
        }
    }

    @inline(__always) private static func loadBits(_ input: UnsafeRawBufferPointer, _ i: Int, _ width: Int) -> UInt32 {
        width == 4 ? input.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) : UInt32(input.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
    }

    @inline(__always) private static func storeBits(_ output: UnsafeMutableRawBufferPointer, _ i: Int, _ width: Int, _ bits: UInt32) {
        if width == 4 {
            output.storeBytes(of: bits, toByteOffset: 4 * i, as: UInt32.self)
        } else {
            output.storeBytes(of: UInt16(truncatingIfNeeded: bits), toByteOffset: 2 * i, as: UInt16.self)
        }
    }

    /// Appends the low `count` bits of `value` to a little-endian bit stream.
    @inline(__always) private static func writeBits(_ bytes: inout [UInt8], _ position: inout Int, _ value: UInt32, _ count: Int) {
        for b in 0..<count where value >> UInt32(b) & 1 == 1 {
            bytes[(position + b) >> 3] |= 1 << UInt8((position + b) & 7)
        }
        position += count
    }

    @inline(__always) private static func readBits(_ bytes: [UInt8], _ position: inout Int, _ count: Int) -> UInt32 {
        var value: UInt32 = 0
        for b in 0..<count where bytes[(position + b) >> 3] >> UInt8((position + b) & 7) & 1 == 1 {
            value |= 1 << UInt32(b)
        }
        position += count
        return value
    }
}
