import CCacheHints
import Kernels

/// Cutting floats into the byte planes of `FloatChunkCodec` and joining them again: the hot loops of
/// the codec, sixteen values at a time (the scalar loops do not vectorise by themselves).
///
/// The plane that holds the sign keeps it in its lowest bit, under the mantissa bits: then the exponent
/// byte and that byte, side by side, are the top 16 bits of the value rotated left by one, and joining
/// them is a byte interleave and a rotation. (Chunks of the first format version keep the sign in the
/// highest bit; `merge` reads them too.)
enum BytePlanes {
    /// Planes per layout.
    static func count(_ layout: FloatLayout) -> Int {
        switch layout {
        case .bfloat16, .float16: return 2
        default: return 4
        }
    }

    /// How far ahead of the loads `split` asks for its input: the input comes from memory (a mapped file,
    /// read once), and the hardware prefetcher stops at every 4 KiB page (measured, BF16 compression: 4%
    /// faster with exact counts, 12% with sampled ones; 512 to 4096 bytes ahead did the same).
    static let prefetchDistance = 2048

    /// Writes plane k of `n` values to `planes + k * n` and returns what it saw of plane 0's bytes, taken
    /// as they are made (plane 0 is always entropy-coded, so it is always counted; counting it here rather
    /// than in a second pass overlaps the counting with the loads of the input, which come from memory).
    /// BF16 exponent planes of `PlaneCensus.sampledMinimum` values or more are counted from a sample: there
    /// the counting is half the split's work. (F32's exponents are a quarter of its bytes, so counting
    /// them costs little, and a sample's code is a little longer: 5 KB on the 91 MB MiniLM checkpoint,
    /// which would cost F32 its lead over ZipNN. F16's high byte holds the sign, so its values do not
    /// fill one range.)
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
            while i + 16 <= n {
                cache_prefetch_l2(source + 2 * i + prefetchDistance)
                let v = source.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self)
                let high = SIMD16<UInt8>(truncatingIfNeeded: v &>> 8)
                out.storeBytes(of: high, toByteOffset: i, as: SIMD16<UInt8>.self)
                out.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: v), toByteOffset: n + i, as: SIMD16<UInt8>.self)
                count(high)
                i += 16
            }
            while i < n {
                let v = source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                planes[i] = UInt8(truncatingIfNeeded: v >> 8)
                planes[n + i] = UInt8(truncatingIfNeeded: v)
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

    /// Joins the values at `range` of the planes back into `output`, at the same positions;
    /// `signInLowBit` false reads first-version chunks (the sign on top of its byte). Plain loops over raw
    /// pointers, which the compiler turns into vector code (SIMD types' conversions between lane widths
    /// are not inlined, and cost more).
    static func merge(_ planes: [UnsafePointer<UInt8>], _ range: Range<Int>, _ layout: FloatLayout, _ output: UnsafeMutableRawBufferPointer,
                      signInLowBit: Bool = true) {
        switch layout {
        case .float16:
            let high = planes[0], low = planes[1]
            let out = output.baseAddress!.bindMemory(to: UInt16.self, capacity: range.upperBound)
            for i in range { out[i] = UInt16(high[i]) &<< 8 | UInt16(low[i]) }
        case .bfloat16:
            let e = planes[0], s = planes[1]
            let out = output.baseAddress!.bindMemory(to: UInt16.self, capacity: range.upperBound)
            if signInLowBit {
                for i in range { out[i] = rotatedRight(UInt16(e[i]) &<< 8 | UInt16(s[i])) }
            } else {
                for i in range { out[i] = (UInt16(s[i]) & 0x80) &<< 8 | UInt16(e[i]) &<< 7 | UInt16(s[i]) & 0x7F }
            }
        default:
            let e = planes[0], b0 = planes[1], b1 = planes[2], s = planes[3]
            let out = output.baseAddress!.bindMemory(to: UInt32.self, capacity: range.upperBound)
            if signInLowBit {
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

    @inline(__always) private static func rotatedRight(_ x: UInt16) -> UInt16 { x &>> 1 | x &<< 15 }
}
