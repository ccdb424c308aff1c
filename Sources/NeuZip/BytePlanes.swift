import CCacheHints
import Kernels

/// Cutting floats into the byte planes of `FloatChunkCodec` and joining them again: the hot loops of
/// the codec, sixteen values at a time (the scalar loops do not vectorise by themselves).
///
/// The plane that holds the sign of BF16 and F32 keeps it in its lowest bit, under the mantissa bits: then
/// the exponent byte and that byte, side by side, are the top 16 bits of the value rotated left by one,
/// and joining them is a byte interleave and a rotation. F16's sign goes to a plane of its own, a bit a
/// value, so that its coded plane holds the 7 bits of exponent and top mantissa bits alone: its codes are
/// a bit shorter, and a lookup of the Huffman decoder yields a quarter more of them (measured on MiniLM:
/// 2.20 symbols a lookup instead of 1.78; the signs are incompressible either way). Chunks of earlier
/// versions (`Cut`) are read too.
enum BytePlanes {
    /// How a lossless chunk cuts its values into planes; the raw value is the chunk's mode byte.
    enum Cut: UInt8 {
        /// The first version: BF16's and F32's sign on top of its byte; F16's high byte, then its low byte.
        case signOnTop = 0
        /// BF16's and F32's sign in the low bit of its byte; F16 as in the first version.
        case signInLowBit = 2
        /// F16 only: the high byte without the sign, the low byte, then the signs (value i's in bit i mod 8
        /// of byte i / 8).
        case signApart = 3

        /// The cut this version writes for `layout`.
        static func current(_ layout: FloatLayout) -> Cut { layout == .float16 ? .signApart : .signInLowBit }

        /// Whether chunks of `layout` may be cut this way.
        func fits(_ layout: FloatLayout) -> Bool { self != .signApart || layout == .float16 }
    }

    /// Planes per layout and cut.
    static func count(_ layout: FloatLayout, _ cut: Cut) -> Int {
        switch layout {
        case .bfloat16: return 2
        case .float16: return cut == .signApart ? 3 : 2
        default: return 4
        }
    }

    /// Bytes of plane k for `n` values: one a value, but the signs' plane holds a bit a value. Plane k
    /// starts at `k * n` of `split`'s buffer.
    static func size(ofPlane k: Int, _ layout: FloatLayout, _ cut: Cut, values n: Int) -> Int {
        cut == .signApart && k == 2 ? (n + 7) / 8 : n
    }

    /// How far ahead of the loads `split` asks for its input: the input comes from memory (a mapped file,
    /// read once), and the hardware prefetcher stops at every 4 KiB page (measured, BF16 compression: 4%
    /// faster with exact counts, 12% with sampled ones; 512 to 4096 bytes ahead did the same).
    static let prefetchDistance = 2048

    /// Writes plane k of `n` values, cut the current way, to `planes + k * n` and returns what it saw of
    /// plane 0's bytes, taken as they are made (plane 0 is always entropy-coded, so it is always counted;
    /// counting it here rather than in a second pass overlaps the counting with the loads of the input,
    /// which come from memory). BF16 exponent planes of `PlaneCensus.sampledMinimum` values or more are
    /// counted from a sample: there the counting is half the split's work. (F32's exponents are a quarter
    /// of its bytes, so counting them costs little, and a sample's code is a little longer: 5 KB on the
    /// 91 MB MiniLM checkpoint, which would cost F32 its lead over ZipNN. F16 is counted exactly: its
    /// compression is well ahead of ZipNN's without a sample, which has not been tried on it.)
    static func split(_ input: UnsafeRawBufferPointer, _ n: Int, _ layout: FloatLayout, _ planes: UnsafeMutablePointer<UInt8>) -> PlaneCensus {
        let counter = ByteCounter()
        // (Mutated in the loops, never in a closure: a captured variable is checked for exclusive access
        // at run time, on every call.)
        var range = ByteRange()
        guard n > 0 else { return PlaneCensus(exactly: counter) }
        precondition(n < 1 << 32, "a chunk of at most 2^32 - 1 values")
        let source = input.baseAddress!
        let out = UnsafeMutableRawPointer(planes)
        let samples = layout == .bfloat16 && n >= PlaneCensus.sampledMinimum
        @inline(__always) func count(_ bytes: SIMD16<UInt8>) {
            let words = unsafeBitCast(bytes, to: SIMD2<UInt64>.self)
            counter.add(word: UInt64(littleEndian: words[0]))
            counter.add(word: UInt64(littleEndian: words[1]))
        }
        var i = 0
        switch layout {
        case .bfloat16:
            while i + 16 <= n {
                cache_prefetch_l2(source + 2 * i + prefetchDistance)
                let v = source.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self)
                let exponents = SIMD16<UInt8>(truncatingIfNeeded: v &>> 7)
                out.storeBytes(of: exponents, toByteOffset: i, as: SIMD16<UInt8>.self)
                out.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: (v &<< 1) & 0xFE | v &>> 15), toByteOffset: n + i, as: SIMD16<UInt8>.self)
                if samples { range.add(exponents) }
                if !samples || i & PlaneCensus.sampleMask == 0 { count(exponents) }
                i += 16
            }
            while i < n {
                let v = source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                planes[i] = UInt8(truncatingIfNeeded: v >> 7)
                planes[n + i] = UInt8(truncatingIfNeeded: (v << 1) & 0xFE | v >> 15)
                counter.add(byte: planes[i])
                if samples { range.add(planes[i]) }
                i += 1
            }
        case .float16:
            let signs = out + 2 * n
            while i + 16 <= n {
                cache_prefetch_l2(source + 2 * i + prefetchDistance)
                let v = source.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self)
                let high = SIMD16<UInt8>(truncatingIfNeeded: v &>> 8) & 0x7F
                out.storeBytes(of: high, toByteOffset: i, as: SIMD16<UInt8>.self)
                out.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: v), toByteOffset: n + i, as: SIMD16<UInt8>.self)
                signs.storeBytes(of: signWord(v).littleEndian, toByteOffset: i / 8, as: UInt16.self)
                count(high)
                i += 16
            }
            if i < n { signs.advanced(by: i / 8).initializeMemory(as: UInt8.self, repeating: 0, count: (n + 7) / 8 - i / 8) }
            while i < n {
                let v = source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                planes[i] = UInt8(truncatingIfNeeded: v >> 8) & 0x7F
                planes[n + i] = UInt8(truncatingIfNeeded: v)
                planes[2 * n + i / 8] |= UInt8(truncatingIfNeeded: v >> 15) << UInt8(i % 8)
                counter.add(byte: planes[i])
                i += 1
            }
        default:
            while i + 16 <= n {
                cache_prefetch_l2(source + 4 * i + prefetchDistance)
                let v = source.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<UInt32>.self)
                let exponents = SIMD16<UInt8>(truncatingIfNeeded: v &>> 23)
                out.storeBytes(of: exponents, toByteOffset: i, as: SIMD16<UInt8>.self)
                out.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: v), toByteOffset: n + i, as: SIMD16<UInt8>.self)
                out.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: v &>> 8), toByteOffset: 2 * n + i, as: SIMD16<UInt8>.self)
                out.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: (v &>> 15) & 0xFE | v &>> 31), toByteOffset: 3 * n + i, as: SIMD16<UInt8>.self)
                count(exponents)
                i += 16
            }
            while i < n {
                let v = source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                planes[i] = UInt8(truncatingIfNeeded: v >> 23)
                planes[n + i] = UInt8(truncatingIfNeeded: v)
                planes[2 * n + i] = UInt8(truncatingIfNeeded: v >> 8)
                planes[3 * n + i] = UInt8(truncatingIfNeeded: (v >> 15) & 0xFE | v >> 31)
                counter.add(byte: planes[i])
                i += 1
            }
        }
        return samples ? PlaneCensus(sample: counter, range: range) : PlaneCensus(exactly: counter)
    }

    /// F16 values joined at a time when their signs are apart (`mergeSignApart`).
    static let stretch = 512

    /// Joins the values at `range` of the planes, cut as `cut` says, back into `output`, at the same
    /// positions.
    static func merge(_ planes: [UnsafePointer<UInt8>], _ range: Range<Int>, _ layout: FloatLayout, _ output: UnsafeMutableRawBufferPointer,
                      cut: Cut) {
        if cut == .signApart {
            mergeSignApart(planes, range, output)
        } else {
            mergeBytes(planes, range, layout, output, cut)
        }
    }

    /// F16 with the signs apart, a stretch at a time: a stretch's signs are put in place in 16-bit words
    /// in a buffer on the stack (`signBits`), then one plain loop, which the compiler vectorises, joins
    /// them with the high and low bytes (measured: 2-3% faster decompression than putting the signs into
    /// the high bytes first, then joining those with the low ones); meanwhile the high and low bytes of
    /// the stretch after the next are asked into the L1 cache (measured: 2-3% faster decompression; the
    /// same for BF16 and F32 was 3-4% slower).
    private static func mergeSignApart(_ planes: [UnsafePointer<UInt8>], _ range: Range<Int>, _ output: UnsafeMutableRawBufferPointer) {
        let (high, low, signs) = (planes[0], planes[1], planes[2])
        withUnsafeTemporaryAllocation(of: UInt16.self, capacity: stretch) { scratch in
            for start in stride(from: range.lowerBound, to: range.upperBound, by: stretch) {
                let end = min(range.upperBound, start + stretch)
                for line in stride(from: end + stretch, to: min(range.upperBound, end + 2 * stretch), by: 64) {
                    cache_prefetch_l1(high + line)
                    cache_prefetch_l1(low + line)
                }
                let signed = signBits(signs, start..<end, scratch.baseAddress!)
                let out = output.baseAddress!.bindMemory(to: UInt16.self, capacity: end)
                for i in start..<end { out[i] = UInt16(high[i]) &<< 8 | UInt16(low[i]) | signed[i] }
            }
        }
    }

    /// The planes at `range` joined, with every byte of a value in one plane or another. Plain loops over
    /// raw pointers, which the compiler turns into vector code (SIMD types' conversions between lane
    /// widths are not inlined, and cost more).
    private static func mergeBytes(_ planes: [UnsafePointer<UInt8>], _ range: Range<Int>, _ layout: FloatLayout,
                                   _ output: UnsafeMutableRawBufferPointer, _ cut: Cut) {
        switch layout {
        case .float16:
            let high = planes[0], low = planes[1]
            let out = output.baseAddress!.bindMemory(to: UInt16.self, capacity: range.upperBound)
            for i in range { out[i] = UInt16(high[i]) &<< 8 | UInt16(low[i]) }
        case .bfloat16:
            let e = planes[0], s = planes[1]
            let out = output.baseAddress!.bindMemory(to: UInt16.self, capacity: range.upperBound)
            if cut == .signInLowBit {
                for i in range { out[i] = rotatedRight(UInt16(e[i]) &<< 8 | UInt16(s[i])) }
            } else {
                for i in range { out[i] = (UInt16(s[i]) & 0x80) &<< 8 | UInt16(e[i]) &<< 7 | UInt16(s[i]) & 0x7F }
            }
        default:
            let e = planes[0], b0 = planes[1], b1 = planes[2], s = planes[3]
            let out = output.baseAddress!.bindMemory(to: UInt32.self, capacity: range.upperBound)
            if cut == .signInLowBit {
                for i in range {
                    out[i] = UInt32(rotatedRight(UInt16(e[i]) &<< 8 | UInt16(s[i]))) &<< 16 | UInt32(b1[i]) &<< 8 | UInt32(b0[i])
                }
            } else {
                for i in range {
                    let top = UInt32(s[i])
                    out[i] = (top & 0x80) &<< 24 | UInt32(e[i]) &<< 23 | (top & 0x7F) &<< 16 | UInt32(b1[i]) &<< 8 | UInt32(b0[i])
                }
            }
        }
    }

    /// 2^k in lane k (a function, not a stored constant: a static constant costs a `swift_once` a use).
    @inline(__always) private static func powersOfTwo() -> SIMD16<UInt16> {
        SIMD16(1, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12, 1 << 13, 1 << 14, 1 << 15)
    }

    /// The sign bits of sixteen F16 values, value k's in bit k: sign k times 2^k, the lanes folded
    /// together with OR (the generic `wrappedSum` is not inlined).
    @inline(__always) private static func signWord(_ values: SIMD16<UInt16>) -> UInt16 {
        let lanes = (values &>> 15) &* powersOfTwo()
        let eight = lanes.lowHalf | lanes.highHalf
        let four = eight.lowHalf | eight.highHalf
        let two = four.lowHalf | four.highHalf
        return two[0] | two[1]
    }

    /// The sign bits of F16 values at `range`, each in place in a 16-bit word (bit 15), from the signs'
    /// plane, written to `scratch` (at most `stretch` values); returns where value i's word is
    /// (`scratch - range.lowerBound`). Sixteen at a time: bit k of a 16-bit word of signs, masked in lane k
    /// and multiplied by 2^(15 - k), is lane k's sign bit.
    @inline(__always) private static func signBits(_ signs: UnsafePointer<UInt8>, _ range: Range<Int>,
                                                   _ scratch: UnsafeMutablePointer<UInt16>) -> UnsafeMutablePointer<UInt16> {
        let bit = powersOfTwo(), lift = SIMD16<UInt16>(repeating: 1 << 15) &>> SIMD16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        let signed = scratch - range.lowerBound
        @inline(__always) func scalar(_ i: Int) { signed[i] = UInt16(signs[i &>> 3] &>> UInt8(i & 7) & 1) &<< 15 }
        var i = range.lowerBound
        while i & 15 != 0 && i < range.upperBound { scalar(i); i &+= 1 }
        while i &+ 16 <= range.upperBound {
            let word = UInt16(littleEndian: UnsafeRawPointer(signs + (i &>> 3)).loadUnaligned(as: UInt16.self))
            UnsafeMutableRawPointer(signed + i).storeBytes(of: (SIMD16(repeating: word) & bit) &* lift, as: SIMD16<UInt16>.self)
            i &+= 16
        }
        while i < range.upperBound { scalar(i); i &+= 1 }
        return signed
    }

    @inline(__always) private static func rotatedRight(_ x: UInt16) -> UInt16 { x &>> 1 | x &<< 15 }
}
