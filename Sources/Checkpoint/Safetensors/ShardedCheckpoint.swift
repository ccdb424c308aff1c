#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hugging Face sharded checkpoints: `model.safetensors.index.json` maps every tensor to a shard file;
/// the shards open together as one checkpoint.
enum ShardedCheckpoint {
    static func open(indexBytes: UnsafeRawBufferPointer, name: String, directory: String) throws -> Checkpoint {
        let root: JSONValue
        do { root = try JSONParser.parse(indexBytes) } catch {
            throw FormatError("invalid JSON in shard index at byte \(error.offset): \(error.reason)")
        }
        guard case .object(let weightMap)? = root["weight_map"] else { throw FormatError("shard index has no 'weight_map' object") }
        var metadata: [(key: String, value: GGUFValue)] = []
        if case .object(let entries)? = root["metadata"] {
            metadata = entries.map { entry in
                if case .string(let text) = entry.value { return (entry.key, .text(text)) }
                return (entry.key, .text(JSONWriter.string(entry.value)))
            }
        }
        var shardNames: [String] = []
        var shardOfTensor: [String: String] = [:]
        for (tensor, value) in weightMap {
            guard case .string(let file) = value else { throw FormatError("weight_map entry '\(tensor)' is not a file name") }
            guard !file.isEmpty, !file.contains("/"), file != "..", file != "." else {
                throw FormatError("weight_map entry '\(tensor)' names '\(file)', not a file beside the index")
            }
            guard shardOfTensor.updateValue(file, forKey: tensor) == nil else { throw FormatError("tensor '\(tensor)' appears twice in weight_map") }
            if !shardNames.contains(file) { shardNames.append(file) }
        }
        var shards: [(file: MappedFile, header: SafetensorsHeader)] = []
        var order: [(shard: Int, tensor: TensorInfo)] = []
        var seen = Set<String>()
        for (shardIndex, shardName) in shardNames.enumerated() {
            let path = directory + "/" + shardName
            let (file, header) = try openShard(path)
            shards.append((file, header))
            for tensor in header.tensors {
                guard shardOfTensor[tensor.name] == shardName else {
                    throw CheckpointError(file: path, "tensor '\(tensor.name)' is not mapped to this shard by \(name)")
                }
                guard seen.insert(tensor.name).inserted else { throw CheckpointError(file: path, "tensor '\(tensor.name)' is in two shards") }
                order.append((shardIndex, tensor))
            }
        }
        if let missing = shardOfTensor.keys.sorted().first(where: { !seen.contains($0) }) {
            throw FormatError("tensor '\(missing)' is mapped to \(shardOfTensor[missing]!) but that shard does not hold it")
        }
        return Checkpoint.sharded(name: name, shards: shards, tensorOrder: order, metadata: metadata)
    }

    private static func openShard(_ path: String) throws -> (MappedFile, SafetensorsHeader) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError(file: path, "cannot open shard: \(systemErrorMessage())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError(file: path, "shard is not a regular file")
        }
        let file = try MappedFile(fd: fd, size: Int(info.st_size), name: path)
        do {
            return (file, try Checkpoint.parseSafetensors(file.bytes))
        } catch let error as FormatError {
            throw error.at(path)
        }
    }
}
