/// NeuZip's codec for one chunk of floats. Each value is cut into byte planes so that the exponent
/// stands in a plane of its own (entropy-coded: trained weights use few exponents) and the sign and
/// mantissa bits fill the others (coded where that helps, raw where not):
///
///     BF16  plane 0 exponent              plane 1 mantissa (7 bits) | sign
///     F16   plane 0 exponent | top 2 mantissa bits    plane 1 low byte    plane 2 signs, a bit a value
///     F32   plane 0 exponent   plane 1 mantissa bits 0-7   plane 2 bits 8-15   plane 3 bits 16-22 | sign
///
/// (F16's exponent has 5 bits, so it is coded jointly with the two mantissa bits beside it, which costs
/// no more than coding them apart; the sign, incompressible, stays out of it, so that its codes are
/// shorter and decode faster: see `BytePlanes`.) Lossless mode restores every bit, NaN payloads and -0
/// included. Lossy mode first rounds each value to `keptBits` mantissa bits (`FloatLayout.round`), codes
/// the exponent plane and packs sign and kept bits tightly; infinities and NaN are kept exactly in an
/// exception list.
///
/// Payload: mode (u8): 1 lossy; lossless 2 for BF16 and F32, 3 for F16 (`BytePlanes.Cut`, which also
/// names the earlier versions' modes, read but no longer written). Lossless: the planes in order, each
/// as `PlaneCodec` writes it. Lossy: kept bits (u8), exception count (u32), (index u32, bits u32) per
/// exception, the exponent plane, the plane of packed (1 + kept)-bit fields (sign above the kept bits,
/// least significant bit first).
public enum FloatChunkCodec {
    /// Compresses the values of `layout` in `input` (little-endian).
    public static func encode(_ input: UnsafeRawBufferPointer, layout: FloatLayout, keptBits: Int? = nil) -> [UInt8] {
        let n = input.count / layout.byteWidth
        if let keptBits, keptBits < layout.mantissaBits {
            return encodeLossy(input, n, layout, keptBits)
        }
        let cut = BytePlanes.Cut.current(layout)
        let count = BytePlanes.count(layout, cut)
        var out: [UInt8] = [cut.rawValue]
        // A plane is coded only when that is smaller than raw: the payload never needs to grow.
        out.reserveCapacity(1 + count * (5 + n))
        let planes = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, count * n))
        defer { planes.deallocate() }
        let firstPlane = BytePlanes.split(input, n, layout, planes)
        for k in 0..<count {
            let size = BytePlanes.size(ofPlane: k, layout, cut, values: n)
            PlaneCodec.encode(UnsafeBufferPointer(start: planes + k * n, count: size), census: k == 0 ? firstPlane : nil, into: &out)
        }
        return out
    }

    /// Values merged (and handed to `decode`'s `finished`) at a time: 16 KiB of BF16 or F16, 32 KiB of F32,
    /// which stay in the L1 cache until they are hashed.
    static let mergeBlock = 8192

    /// Restores `output.count / byteWidth` values into `output` from `encoded`, and hands `finished`
    /// consecutive stretches of `output` from the start, each as soon as it holds its final bytes: a
    /// caller that hashes them reads each while it is still in the L1 cache (measured: hashing the whole
    /// chunk afterwards, from the L2 cache, took 14% of BF16 decompression).
    public static func decode(_ encoded: UnsafeRawBufferPointer, layout: FloatLayout, into output: UnsafeMutableRawBufferPointer,
                              finished: (UnsafeRawBufferPointer) -> Void = { _ in }) throws {
        let n = output.count / layout.byteWidth
        var reader = ByteReader(encoded)
        let mode = try reader.byte()
        if mode == 1 {
            try decodeLossy(&reader, n, layout, output)
            finished(UnsafeRawBufferPointer(output))
        } else if let cut = BytePlanes.Cut(rawValue: mode), cut.fits(layout) {
            try decodeLossless(&reader, n, layout, cut, output, finished)
        } else {
            throw CodecError("unknown float chunk mode \(mode) for \(layout.name)")
        }
        guard reader.remaining == 0 else { throw CodecError("\(reader.remaining) unexpected bytes after the planes") }
    }

    /// The lossless payload after its mode byte. One pass finds where the planes lie; raw planes are
    /// read where they lie in the payload, and the others are decoded, warming the raw ones into the
    /// cache for the merge. A coded plane 0 is decoded into the output's own last n bytes, which the
    /// merge overwrites last (measured: BF16 decompression 3% faster with one thread, 7% with two; a
    /// buffer of its own took 512 KiB more of the cache a chunk); other coded planes get buffers.
    private static func decodeLossless(_ reader: inout ByteReader, _ n: Int, _ layout: FloatLayout, _ cut: BytePlanes.Cut,
                                       _ output: UnsafeMutableRawBufferPointer, _ finished: (UnsafeRawBufferPointer) -> Void) throws {
        let sizes = (0..<BytePlanes.count(layout, cut)).map { BytePlanes.size(ofPlane: $0, layout, cut, values: n) }
        var located: [(raw: UnsafeRawBufferPointer?, start: ByteReader)] = []
        for size in sizes {
            let start = reader
            if n > 0, let raw = try PlaneCodec.rawPlane(&reader, count: size) {
                located.append((raw, start))
            } else {
                try PlaneCodec.skip(&reader)
                located.append((nil, start))
            }
        }
        let rawPlanes = located.compactMap(\.raw)
        var owned: [UnsafeMutableBufferPointer<UInt8>] = []
        defer { owned.forEach { $0.deallocate() } }
        var planes: [UnsafePointer<UInt8>] = []
        for (k, (plane, size)) in zip(located, sizes).enumerated() {
            if let raw = plane.raw {
                planes.append(raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
                continue
            }
            let target: UnsafeMutableBufferPointer<UInt8>
            if k == 0, n > 0, let out = output.baseAddress {
                target = UnsafeMutableBufferPointer(start: (out + (layout.byteWidth - 1) * n).assumingMemoryBound(to: UInt8.self), count: size)
            } else {
                let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, size))
                owned.append(buffer)
                target = UnsafeMutableBufferPointer(rebasing: buffer[0..<size])
            }
            var planeReader = plane.start
            try PlaneCodec.decode(&planeReader, into: target, warming: rawPlanes)
            planes.append(UnsafePointer(target.baseAddress!))
        }
        for start in stride(from: 0, to: n, by: mergeBlock) {
            let block = start..<min(n, start + mergeBlock)
            mergeBelowPlaneZero(planes, block, n, layout, cut, output)
            finished(UnsafeRawBufferPointer(rebasing: output[(block.lowerBound * layout.byteWidth)..<(block.upperBound * layout.byteWidth)]))
        }
    }

    /// Merges `block` in pieces that each write only below the plane-0 bytes they read. With plane 0 in
    /// the output's last n bytes (value i's byte at (w - 1)n + i, for w bytes a value), a piece [s, e)
    /// may end where w * e <= (w - 1)n + s: then its output lies apart from its input, as the merge's
    /// vector loops check before they run (a piece that overlapped would take their scalar loops).
    /// Pieces are whole blocks but near the chunk's end, where they halve down to single values, which
    /// the merge reads before it writes.
    private static func mergeBelowPlaneZero(_ planes: [UnsafePointer<UInt8>], _ block: Range<Int>, _ n: Int, _ layout: FloatLayout,
                                            _ cut: BytePlanes.Cut, _ output: UnsafeMutableRawBufferPointer) {
        let w = layout.byteWidth
        var piece = block.lowerBound
        while piece < block.upperBound {
            let end = min(block.upperBound, max(piece + 1, ((w - 1) * n + piece) / w))
            BytePlanes.merge(planes, piece..<end, layout, output, cut: cut)
            piece = end
        }
    }

    // MARK: lossy

    private static func encodeLossy(_ input: UnsafeRawBufferPointer, _ n: Int, _ layout: FloatLayout, _ keptBits: Int) -> [UInt8] {
        var out: [UInt8] = [1, UInt8(keptBits)]
        let fields = LossyFields(layout, keptBits: keptBits)
        let exponents = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: n)
        defer { exponents.deallocate() }
        var packer = BitPacker(capacity: (n * fields.bits + 7) / 8)
        var exceptions: [(index: UInt32, bits: UInt32)] = []
        if let base = input.baseAddress, n > 0 {
            if layout.byteWidth == 4 {
                pack(base.assumingMemoryBound(to: UInt32.self), n, fields, exponents.baseAddress!, &packer, &exceptions)
            } else {
                pack(base.assumingMemoryBound(to: UInt16.self), n, fields, exponents.baseAddress!, &packer, &exceptions)
            }
        }
        withUnsafeBytes(of: UInt32(exceptions.count).littleEndian) { out += $0 }
        for (index, bits) in exceptions {
            withUnsafeBytes(of: index.littleEndian) { out += $0 }
            withUnsafeBytes(of: bits.littleEndian) { out += $0 }
        }
        PlaneCodec.encode(UnsafeBufferPointer(exponents), into: &out)
        packer.finish().withUnsafeBufferPointer { PlaneCodec.encode($0, into: &out) }
        return out
    }

    /// The lossy encoder's loop, for one width of value: rounds, writes the exponent plane and the packed
    /// fields, and lists the infinities and NaN.
    private static func pack<Word: FixedWidthInteger & UnsignedInteger>(
        _ values: UnsafePointer<Word>, _ n: Int, _ fields: LossyFields, _ exponents: UnsafeMutablePointer<UInt8>,
        _ packer: inout BitPacker, _ exceptions: inout [(index: UInt32, bits: UInt32)]
    ) {
        for i in 0..<n {
            let bits = UInt32(Word(littleEndian: values[i]))
            if fields.isSpecial(bits) { exceptions.append((UInt32(i), bits)) }
            let rounded = fields.rounding.apply(bits)
            exponents[i] = fields.exponent(of: rounded)
            packer.append(fields.field(of: rounded), bits: fields.bits)
        }
    }

    private static func decodeLossy(_ reader: inout ByteReader, _ n: Int, _ layout: FloatLayout, _ output: UnsafeMutableRawBufferPointer) throws {
        let keptBits = Int(try reader.byte())
        guard keptBits < layout.mantissaBits else { throw CodecError("lossy chunk keeps \(keptBits) mantissa bits") }
        let exceptionCount = Int(try reader.u32())
        guard exceptionCount <= n else { throw CodecError("more exceptions than values") }
        let exceptions = try reader.bytes(8 * exceptionCount)
        let fields = LossyFields(layout, keptBits: keptBits)
        let exponents = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: n)
        defer { exponents.deallocate() }
        try PlaneCodec.decode(&reader, into: exponents)
        let packed = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: (n * fields.bits + 7) / 8)
        defer { packed.deallocate() }
        try PlaneCodec.decode(&reader, into: packed)
        if let base = output.baseAddress, n > 0 {
            var unpacker = BitUnpacker(UnsafeBufferPointer(packed))
            if layout.byteWidth == 4 {
                unpack(base.assumingMemoryBound(to: UInt32.self), n, fields, exponents.baseAddress!, &unpacker)
            } else {
                unpack(base.assumingMemoryBound(to: UInt16.self), n, fields, exponents.baseAddress!, &unpacker)
            }
        }
        for k in 0..<exceptionCount {
            let index = Int(UInt32(littleEndian: exceptions.loadUnaligned(fromByteOffset: 8 * k, as: UInt32.self)))
            guard index < n else { throw CodecError("exception index out of range") }
            storeBits(output, index, layout.byteWidth, UInt32(littleEndian: exceptions.loadUnaligned(fromByteOffset: 8 * k + 4, as: UInt32.self)))
        }
    }

    /// The lossy decoder's loop, for one width of value.
    private static func unpack<Word: FixedWidthInteger & UnsignedInteger>(
        _ values: UnsafeMutablePointer<Word>, _ n: Int, _ fields: LossyFields, _ exponents: UnsafePointer<UInt8>, _ unpacker: inout BitUnpacker
    ) {
        for i in 0..<n {
            values[i] = Word(truncatingIfNeeded: fields.value(field: unpacker.next(bits: fields.bits), exponent: exponents[i])).littleEndian
        }
    }

    @inline(__always) static func storeBits(_ output: UnsafeMutableRawBufferPointer, _ i: Int, _ width: Int, _ bits: UInt32) {
        if width == 4 {
            output.storeBytes(of: bits, toByteOffset: 4 * i, as: UInt32.self)
        } else {
            output.storeBytes(of: UInt16(truncatingIfNeeded: bits), toByteOffset: 2 * i, as: UInt16.self)
        }
    }
}

/// How a lossy chunk stores a rounded value: the exponent in its own plane, and a (1 + kept)-bit field
/// of the sign above the kept mantissa bits.
struct LossyFields {
    let rounding: MantissaRounding
    /// Bits of a field.
    let bits: Int
    private let kept: UInt32, dropped: UInt32, keptMask: UInt32
    private let mantissaBits: UInt32, exponentMask: UInt32, mantissaMask: UInt32, signShift: UInt32

    init(_ layout: FloatLayout, keptBits: Int) {
        rounding = MantissaRounding(layout, keptBits: keptBits)
        bits = 1 + keptBits
        kept = UInt32(keptBits)
        dropped = UInt32(layout.mantissaBits - keptBits)
        keptMask = (1 << UInt32(keptBits)) - 1
        mantissaBits = UInt32(layout.mantissaBits)
        exponentMask = layout.exponentMask
        mantissaMask = layout.mantissaMask
        signShift = layout.signShift
    }

    /// Infinity or NaN: kept exactly in the exception list.
    @inline(__always) func isSpecial(_ value: UInt32) -> Bool { rounding.isSpecial(value) }

    @inline(__always) func exponent(of rounded: UInt32) -> UInt8 {
        UInt8(truncatingIfNeeded: (rounded &>> mantissaBits) & exponentMask)
    }

    @inline(__always) func field(of rounded: UInt32) -> UInt32 {
        (rounded &>> signShift) &<< kept | (rounded & mantissaMask) &>> dropped
    }

    /// The rounded value's bits back from its field and exponent.
    @inline(__always) func value(field: UInt32, exponent: UInt8) -> UInt32 {
        (field &>> kept) &<< signShift | UInt32(exponent) &<< mantissaBits | (field & keptMask) &<< dropped
    }
}

/// Appends fields of up to 32 bits to a little-endian bit stream (least significant bit first) in a buffer
/// of a known size, through a 64-bit accumulator stored four bytes at a time.
struct BitPacker: ~Copyable {
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var position = 0
    private var accumulator: UInt64 = 0
    private var pending = 0

    /// Room for `capacity` bytes of fields: the caller appends at most `8 * capacity` bits.
    init(capacity: Int) {
        self.capacity = capacity
        // Four bytes of slack: a store may reach past the last whole byte.
        buffer = .allocate(capacity: capacity + 4)
    }

    deinit { buffer.deallocate() }

    @inline(__always) mutating func append(_ value: UInt32, bits: Int) {
        accumulator |= UInt64(value & UInt32(truncatingIfNeeded: (UInt64(1) &<< UInt64(bits)) &- 1)) &<< UInt64(pending)
        pending &+= bits
        if pending >= 32 {
            UnsafeMutableRawPointer(buffer + position).storeBytes(of: UInt32(truncatingIfNeeded: accumulator).littleEndian, as: UInt32.self)
            position &+= 4
            accumulator &>>= 32
            pending &-= 32
        }
    }

    /// The stream, its last byte padded with zero bits.
    consuming func finish() -> [UInt8] {
        while pending > 0 {
            buffer[position] = UInt8(truncatingIfNeeded: accumulator)
            position += 1
            accumulator &>>= 8
            pending -= 8
        }
        precondition(position <= capacity, "more bits appended than the packer was made for")
        return Array(UnsafeBufferPointer(start: buffer, count: position))
    }
}

/// Reads fields back from a `BitPacker` stream; reads past the end yield zero bits (the caller knows
/// the count, and the stream's length was checked).
struct BitUnpacker {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    private var accumulator: UInt64 = 0
    private var available = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    @inline(__always) mutating func next(bits: Int) -> UInt32 {
        if available < bits { refill() }
        let value = UInt32(truncatingIfNeeded: accumulator & ((UInt64(1) &<< UInt64(bits)) &- 1))
        accumulator &>>= UInt64(bits)
        available &-= bits
        return value
    }

    /// Tops the accumulator up to at least 57 bits: eight bytes at once away from the end.
    private mutating func refill() {
        if position + 8 <= bytes.count {
            let word = UInt64(littleEndian: UnsafeRawPointer(bytes.baseAddress! + position).loadUnaligned(as: UInt64.self))
            accumulator |= word &<< UInt64(available)
            let taken = (63 - available) >> 3
            position += taken
            available += 8 * taken
            return
        }
        while available <= 56 {
            let byte = position < bytes.count ? UInt64(bytes[position]) : 0
            accumulator |= byte &<< UInt64(available)
            position += 1
            available += 8
        }
    }
}
