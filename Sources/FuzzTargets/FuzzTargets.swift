#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Checkpoint
import NeuZip

/// One function per reader of untrusted bytes, each feeding arbitrary bytes through the reader the way
/// the tools use it. libFuzzer drives them (Fuzz/, `make fuzz`); the tests replay every input that ever
/// found a bug. A function returns normally whatever the input; a crash, trap, hang or huge allocation
/// is the bug.
public enum FuzzTargets {
    /// The input as a checkpoint file (memory-mapped) and as a pipe: list, stream, decode every tensor,
    /// write it again, compute statistics.
    public static func checkpoint(_ data: UnsafeRawBufferPointer) {
        withFile(data) { path in
            if let checkpoint = try? Checkpoint.open(path) { exercise(checkpoint) }
        }
        withPipe(data) { path in
            if let checkpoint = try? Checkpoint.open(path) { exercise(checkpoint) }
        }
    }

    /// The input as `model.safetensors.index.json` beside two valid shards (tensors "a" and "b").
    public static func shardIndex(_ data: UnsafeRawBufferPointer) {
        withDirectory { folder in
            for (name, tensor) in [("s1.safetensors", "a"), ("s2.safetensors", "b")] {
                let json = "{\"\(tensor)\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
                var bytes = withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { Array($0) } + Array(json.utf8)
                bytes += [0, 0, 128, 63, 0, 0, 0, 64]
                bytes.withUnsafeBytes { write($0, to: folder + "/" + name) }
            }
            write(data, to: folder + "/model.safetensors.index.json")
            if let checkpoint = try? Checkpoint.open(folder) { exercise(checkpoint) }
        }
    }

    /// The input as a .nz file and as a pipe: restore, list, decode each tensor at random, and read it
    /// as the checkpoint it holds.
    public static func nz(_ data: UnsafeRawBufferPointer) {
        checkpoint(data)
        withFile(data) { path in
            if let decoder = try? NZDecoder(path: path) {
                for index in decoder.tensors.indices { _ = try? decoder.tensorBytes(index) }
                _ = try? decoder.restore(to: DiscardingSink(), threads: 2)
            }
            if let decoder = try? NZDecoder(path: path) { _ = try? decoder.scan() }
        }
        withPipe(data) { path in
            if let decoder = try? NZDecoder(path: path) { _ = try? decoder.restore(to: DiscardingSink(), threads: 1) }
        }
    }

    /// The input as a NeuZip float chunk and as a rANS and a Huffman stream, for every layout and a size taken from the
    /// first bytes: 12 bits, times 32 when bit 4 of the second byte is set, so that planes large enough for the
    /// Huffman decoder's multi-symbol loop (`Huffman.multiSymbolMinimum`) are fuzzed too.
    public static func entropyDecoder(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 2 else { return }
        let count = (Int(data[0]) << 4 | Int(data[1] & 15)) << (data[1] & 0x10 != 0 ? 5 : 0)
        let payload = UnsafeRawBufferPointer(rebasing: data[2...])
        for layout in [FloatLayout.bfloat16, .float16, .float32] {
            var output = [UInt8](repeating: 0, count: count * layout.byteWidth)
            _ = try? output.withUnsafeMutableBytes { try FloatChunkCodec.decode(payload, layout: layout, into: $0) }
        }
        var symbols = [UInt8](repeating: 0, count: count)
        _ = try? symbols.withUnsafeMutableBufferPointer { try RANS.decode(payload, into: $0) }
        _ = try? symbols.withUnsafeMutableBufferPointer { try Huffman.decode(payload, into: $0) }
    }

    // MARK: helpers

    private static func exercise(_ checkpoint: Checkpoint) {
        if checkpoint.isRandomAccess {
            for index in checkpoint.tensors.indices { _ = try? checkpoint.floats(of: index) }
            _ = try? checkpoint.writeSameFormat(to: DiscardingSink(), name: "fuzz")
            _ = try? checkpoint.writeDenseSafetensors(dtype: .bf16, to: DiscardingSink(), name: "fuzz")
        }
        _ = try? TensorStatistics.collect(checkpoint, chunkBytes: 4096)
    }

    private static func write(_ data: UnsafeRawBufferPointer, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        var done = 0
        while done < data.count {
            let n = Glibc.write(fd, data.baseAddress! + done, data.count - done)
            if n <= 0 { break }
            done += n
        }
        close(fd)
    }

    private static func withDirectory(_ body: (String) -> Void) {
        var template = Array("/tmp/fuzz-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { return }
        let folder = String(cString: made)
        body(folder)
        for name in ["s1.safetensors", "s2.safetensors", "model.safetensors.index.json", "input"] { unlink(folder + "/" + name) }
        rmdir(folder)
    }

    private static func withFile(_ data: UnsafeRawBufferPointer, _ body: (String) -> Void) {
        withDirectory { folder in
            write(data, to: folder + "/input")
            body(folder + "/input")
        }
    }

    /// Small inputs only (they must fit the pipe's buffer, as nothing else writes while we read).
    private static func withPipe(_ data: UnsafeRawBufferPointer, _ body: (String) -> Void) {
        guard data.count <= 60_000 else { return }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        defer { close(fds[0]) }
        var done = 0
        while done < data.count {
            let n = Glibc.write(fds[1], data.baseAddress! + done, data.count - done)
            if n <= 0 { break }
            done += n
        }
        close(fds[1])
        body("/proc/self/fd/\(fds[0])")
    }
}
