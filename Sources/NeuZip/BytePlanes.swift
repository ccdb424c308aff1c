/// Cutting floats into the byte planes of `FloatChunkCodec` and joining them again: the hot loops of
/// the codec, sixteen values at a time (the scalar loops do not vectorise by themselves).
enum BytePlanes {
    /// Planes per layout.
    static func count(_ layout: FloatLayout) -> Int {
        switch layout {
        case .bfloat16, .float16: return 2
        default: return 4
        }
    }

    /// Writes plane k of `n` values to `planes + k * n`.
    static func split(_ input: UnsafeRawBufferPointer, _ n: Int, _ layout: FloatLayout, _ planes: UnsafeMutablePointer<UInt8>) {
        guard n > 0 else { return }
        let source = input.baseAddress!
        let out = UnsafeMutableRawPointer(planes)
        var i = 0
        switch layout {
        case .bfloat16:
            while i + 16 <= n {
                let v = source.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self)
                out.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: v &>> 7), toByteOffset: i, as: SIMD16<UInt8>.self)
                out.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: (v &>> 8) & 0x80 | v & 0x7F), toByteOffset: n + i, as: SIMD16<UInt8>.self)
                i += 16
            }
            while i < n {
                let v = source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                planes[i] = UInt8(truncatingIfNeeded: v >> 7)
                planes[n + i] = UInt8(truncatingIfNeeded: (v >> 8) & 0x80 | v & 0x7F)
                i += 1
            }
        case .float16:
            while i + 16 <= n {
                let v = source.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self)
                out.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: v &>> 8), toByteOffset: i, as: SIMD16<UInt8>.self)
                out.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: v), toByteOffset: n + i, as: SIMD16<UInt8>.self)
                i += 16
            }
            while i < n {
                let v = source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                planes[i] = UInt8(truncatingIfNeeded: v >> 8)
                planes[n + i] = UInt8(truncatingIfNeeded: v)
                i += 1
            }
        default:
            while i + 16 <= n {
                let v = source.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<UInt32>.self)
                out.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: v &>> 23), toByteOffset: i, as: SIMD16<UInt8>.self)
                out.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: v), toByteOffset: n + i, as: SIMD16<UInt8>.self)
                out.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: v &>> 8), toByteOffset: 2 * n + i, as: SIMD16<UInt8>.self)
                out.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: (v &>> 24) & 0x80 | (v &>> 16) & 0x7F), toByteOffset: 3 * n + i, as: SIMD16<UInt8>.self)
                i += 16
            }
            while i < n {
                let v = source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                planes[i] = UInt8(truncatingIfNeeded: v >> 23)
                planes[n + i] = UInt8(truncatingIfNeeded: v)
                planes[2 * n + i] = UInt8(truncatingIfNeeded: v >> 8)
                planes[3 * n + i] = UInt8(truncatingIfNeeded: (v >> 24) & 0x80 | (v >> 16) & 0x7F)
                i += 1
            }
        }
    }

    /// Joins the planes back into `n` values.
    static func merge(_ planes: [UnsafePointer<UInt8>], _ n: Int, _ layout: FloatLayout, _ output: UnsafeMutableRawBufferPointer) {
        let out = output.baseAddress!
        let p = planes.map { UnsafeRawPointer($0) }
        var i = 0
        @inline(__always) func load(_ k: Int) -> SIMD16<UInt16> {
            SIMD16<UInt16>(truncatingIfNeeded: p[k].loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self))
        }
        @inline(__always) func load32(_ k: Int) -> SIMD16<UInt32> {
            SIMD16<UInt32>(truncatingIfNeeded: p[k].loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self))
        }
        switch layout {
        case .bfloat16:
            while i + 16 <= n {
                let e = load(0), s = load(1)
                out.storeBytes(of: (s & 0x80) &<< 8 | e &<< 7 | s & 0x7F, toByteOffset: 2 * i, as: SIMD16<UInt16>.self)
                i += 16
            }
            while i < n {
                let e = UInt16(planes[0][i]), s = UInt16(planes[1][i])
                out.storeBytes(of: (s & 0x80) << 8 | e << 7 | s & 0x7F, toByteOffset: 2 * i, as: UInt16.self)
                i += 1
            }
        case .float16:
            while i + 16 <= n {
                out.storeBytes(of: load(0) &<< 8 | load(1), toByteOffset: 2 * i, as: SIMD16<UInt16>.self)
                i += 16
            }
            while i < n {
                out.storeBytes(of: UInt16(planes[0][i]) << 8 | UInt16(planes[1][i]), toByteOffset: 2 * i, as: UInt16.self)
                i += 1
            }
        default:
            while i + 16 <= n {
                let e = load32(0), b0 = load32(1), b1 = load32(2), s = load32(3)
                out.storeBytes(of: (s & 0x80) &<< 24 | e &<< 23 | (s & 0x7F) &<< 16 | b1 &<< 8 | b0, toByteOffset: 4 * i, as: SIMD16<UInt32>.self)
                i += 16
            }
            while i < n {
                let e = UInt32(planes[0][i]), b0 = UInt32(planes[1][i]), b1 = UInt32(planes[2][i]), s = UInt32(planes[3][i])
                out.storeBytes(of: (s & 0x80) << 24 | e << 23 | (s & 0x7F) << 16 | b1 << 8 | b0, toByteOffset: 4 * i, as: UInt32.self)
                i += 1
            }
        }
    }
}
