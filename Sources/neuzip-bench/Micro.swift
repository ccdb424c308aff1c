import NeuZip
import Checkpoint
import Dispatch
import Foundation
// usage: NZ_MICRO=file:offset:bytes:layout neuzip-bench x 1
func runMicroIfAsked() {
if let spec = ProcessInfo.processInfo.environment["NZ_MICRO"] {
    let parts = spec.split(separator: ":").map(String.init)
    let data = try! Data(contentsOf: URL(fileURLWithPath: parts[0]))
    let offset = Int(parts[1])!, count = Int(parts[2])!
    let layout: FloatLayout = parts[3] == "bf16" ? .bfloat16 : parts[3] == "f16" ? .float16 : .float32
    let chunk = [UInt8](data[offset..<(offset + count)])
    var encoded: [UInt8] = []
    var best = Double.infinity
    for _ in 0..<20 {
        let t = DispatchTime.now().uptimeNanoseconds
        encoded = chunk.withUnsafeBytes { FloatChunkCodec.encode($0, layout: layout) }
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t))
    }
    var out = [UInt8](repeating: 0, count: count)
    var bestD = Double.infinity
    for _ in 0..<50 {
        let t = DispatchTime.now().uptimeNanoseconds
        try! encoded.withUnsafeBytes { e in try out.withUnsafeMutableBytes { try FloatChunkCodec.decode(e, layout: layout, into: $0) } }
        bestD = min(bestD, Double(DispatchTime.now().uptimeNanoseconds - t))
    }
    precondition(out == chunk)
    print(String(format: "ratio %.2f%%  encode %.0f MB/s  decode %.0f MB/s", 100 * Double(encoded.count) / Double(count), Double(count) / best * 1e3, Double(count) / bestD * 1e3))
    exit(0)
}
}
func runDecodeOnlyIfAsked() {
    guard let path = ProcessInfo.processInfo.environment["NZ_DECODE_ONLY"] else { return }
    let threads = Int(ProcessInfo.processInfo.environment["NZ_THREADS"] ?? "1")!
    var best = Double.infinity
    var size = 0
    for _ in 0..<10 {
        let decoder = try! NZDecoder(path: path)
        let t = DispatchTime.now().uptimeNanoseconds
        size = try! decoder.restore(to: DiscardingSink(), threads: threads).summary.originalSize
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t))
    }
    print(String(format: "decode %.0f MB/s", Double(size) / best * 1e3))
    exit(0)
}
func runPlaneIfAsked() {
    guard let path = ProcessInfo.processInfo.environment["NZ_PLANE"] else { return }
    let data = [UInt8](try! Data(contentsOf: URL(fileURLWithPath: path)))
    guard let encoded = data.withUnsafeBufferPointer({ RANS.encode($0) }) else { print("nil"); exit(0) }
    var out = [UInt8](repeating: 0, count: data.count)
    do {
        try encoded.withUnsafeBytes { e in try out.withUnsafeMutableBufferPointer { try RANS.decode(e, into: $0) } }
        print("ok", encoded.count, out == data)
    } catch { print("error", error) }
    exit(0)
}
