// neuzip-bench: times NeuZip compression and decompression in-process (no process start-up, output
// discarded), the way bench/zipnn_bench.py times ZipNN, so that `make bench` compares like with like.
//
// usage: neuzip-bench FILE THREADS [MANTISSA_BITS]
// prints: neuzip <TAB> percent of original <TAB> compress MB/s <TAB> decompress MB/s (best of seven: the machine is shared and noisy)
import Checkpoint
import Kernels
import Dispatch
import Foundation

let arguments = CommandLine.arguments
guard arguments.count >= 3, let threads = Int(arguments[2]) else {
    FileHandle.standardError.write("usage: neuzip-bench FILE THREADS [MANTISSA_BITS]\n".data(using: .utf8)!)
    exit(2)
}
AllocatorTuning.keepChunkBuffers()
Gemm.quietBLASWorkers()
let kept = arguments.count > 3 ? Int(arguments[3]) : nil
let input = arguments[1]
let packed = "/dev/shm/neuzip-bench-\(getpid()).nz"
defer { unlink(packed) }

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

do {
    let options = NZOptions(keptMantissaBits: kept, threads: threads)
    var compress = Double.infinity, decompress = Double.infinity
    var original = 0, stored = 0
    // Input opened once, as bench/zipnn_bench.py reads its bytes once: both codecs then start from
    // data already in memory, and neither pays for reading the file inside the timing.
    let checkpoint = try Checkpoint.open(input)
    for _ in 0..<7 {
        compress = min(compress, try seconds {
            let summary = try NZEncoder.compress(checkpoint, to: DiscardingSink(), options: options)
            original = summary.originalSize
        })
    }
    let file = try AtomicFile(path: packed, overwrite: true)
    stored = try NZEncoder.compress(checkpoint, to: file, options: options).compressedSize
    try file.commit()
    let source = try InputSource.open(packed)
    for _ in 0..<7 {
        let decoder = try NZDecoder(source)
        decompress = min(decompress, try seconds { _ = try decoder.restore(to: DiscardingSink(), threads: threads) })
    }
    let mb = Double(original) / 1e6
    print(String(format: "neuzip\t%.2f\t%.0f\t%.0f", 100 * Double(stored) / Double(original), mb / compress, mb / decompress))
} catch {
    FileHandle.standardError.write("neuzip-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
