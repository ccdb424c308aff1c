// make-seeds: writes the small valid files that seed each fuzzer's corpus (Fuzz/Seeds/<fuzzer>/).
// Run by `make fuzz-seeds`; the output is committed.
import Checkpoint
import Foundation
import Kernels
import NeuZip

let root = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Seeds"

func folder(_ name: String) -> String {
    let path = root + "/" + name
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func encoded(_ values: [Float], _ type: TensorType) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: type.byteCount(elements: values.count)!)
    try values.withUnsafeBufferPointer { input in try bytes.withUnsafeMutableBytes { try ElementCodec.encode(input, as: type, into: $0) } }
    return bytes
}

func write(_ path: String, _ build: (ByteSink) throws -> Void) throws {
    let file = try AtomicFile(path: path, overwrite: true)
    try build(file)
    try file.commit()
}

let values: [Float] = (0..<64).map { Float($0 - 32) / 16 }
// safetensors: every plain dtype, metadata, an empty tensor and a scalar.
let plain: [TensorType] = [.f64, .f32, .f16, .bf16, .f8e4m3, .f8e5m2, .i8, .i16, .i32, .i64, .u8, .u16, .u32, .u64, .bool]
for (k, type) in plain.enumerated() {
    let input = type == .bool ? values.map { $0 > 0 ? 1 : 0 } : type.safetensorsName!.hasPrefix("U") ? values.map(abs) : values
    let header = try SafetensorsHeader.contiguous([("t", type, [8, 8]), ("empty", .f32, [0]), ("scalar", .f32, [])], metadata: [("k", "v\(k)")])
    try write(folder("fuzz-safetensors") + "/\(type).safetensors") { sink in
        let writer = try CheckpointWriter(safetensors: header, to: sink, name: "seed")
        try encoded(input, type).withUnsafeBytes { try writer.write($0) }
        try encoded([1.5], .f32).withUnsafeBytes { try writer.write($0) }
        try writer.finish()
    }
}
// GGUF: every block type with real-looking blocks (scale 1.0), every metadata type.
let metadata: [(key: String, value: GGUFValue)] = [
    ("general.architecture", .text("llama")), ("u8", .uint8(1)), ("i16", .int16(-2)), ("f32", .float32(bits: Float(0.5).bitPattern)),
    ("b", .bool(true)), ("u64", .uint64(7)), ("f64", .float64(bits: (0.25).bitPattern)),
    ("tokens", .array(elementType: .string, [.text("a"), .text("b")])),
    ("nested", .array(elementType: .array, [.array(elementType: .int32, [.int32(1)])])),
]
let blockTypes: [TensorType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2K, .q3K, .q4K, .q5K, .q6K, .f32, .f16, .bf16]
for type in blockTypes {
    let elements = type.blockElements * 2
    var bytes = [UInt8](repeating: 0x5A, count: type.byteCount(elements: elements)!)
    if type.isFloat { bytes = try encoded((0..<elements).map { Float($0) / 100 }, type) }
    try write(folder("fuzz-gguf") + "/\(type).gguf") { sink in
        let header = try GGUFHeader.layout(metadata: metadata, tensors: [("w", type, [2, type.blockElements])])
        let writer = try CheckpointWriter(gguf: header, to: sink, name: "seed")
        try bytes.withUnsafeBytes { try writer.write($0) }
        try writer.finish()
    }
}
// Shard index.
let index = #"{"metadata":{"total_size":16},"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}"#
try Data(index.utf8).write(to: URL(fileURLWithPath: folder("fuzz-shard-index") + "/index.json"))
// .nz files of each kind: lossless and lossy, safetensors and GGUF.
for (name, source, kept) in [("bf16", "fuzz-safetensors/BF16.safetensors", nil), ("f32-lossy", "fuzz-safetensors/F32.safetensors", 3),
                             ("f16", "fuzz-safetensors/F16.safetensors", nil), ("q4_0", "fuzz-gguf/Q4_0.gguf", nil),
                             ("i64", "fuzz-safetensors/I64.safetensors", nil)] as [(String, String, Int?)] {
    try write(folder("fuzz-nz") + "/\(name).nz") { sink in
        _ = try NZEncoder.compress(Checkpoint.open(root + "/" + source), to: sink, options: NZOptions(keptMantissaBits: kept, chunkBytes: 64))
    }
}
// Entropy decoder: two bytes of element count (12 bits, and bit 4 of the second byte: times 32), then a
// float chunk payload; small chunks, and chunks of 20480 weight-like values, whose coded planes take the
// Huffman decoder's multi-symbol loop (both table shapes: BF16's exponents and F16's longer codes).
var gaussian = GaussianStream(seed: 31)
let weights: [Float] = (0..<20480).map { _ in 0.02 * gaussian.next() }
for (name, layout, input) in [("bf16", FloatLayout.bfloat16, values), ("f16", .float16, values), ("f32", .float32, values),
                              ("bf16-large", .bfloat16, weights), ("f16-large", .float16, weights)] {
    let raw = try encoded(input, layout == .bfloat16 ? .bf16 : layout == .float16 ? .f16 : .f32)
    let payload = raw.withUnsafeBytes { FloatChunkCodec.encode($0, layout: layout) }
    let count = raw.count / layout.byteWidth
    let field = count < 4096 ? [UInt8(count >> 4), UInt8(count & 15)] : [UInt8(count >> 9), UInt8((count >> 5) & 15) | 0x10]
    precondition(count < 4096 || count % 32 == 0)
    try Data(field + payload).write(to: URL(fileURLWithPath: folder("fuzz-entropy") + "/\(name).bin"))
}
print("seeds written under \(root)")
