import ArgumentParser
import Checkpoint
import ToolSupport

/// `mstat [list] FILE...`: what is in a checkpoint, read from its header only.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List format, totals, metadata and tensors (reads only the header of a file).")

    @Flag(name: .long, help: "Leave out the metadata.")
    var noMetadata = false

    @OptionGroup var inputs: InputFiles

    func run() throws {
        try inputs.forEach { checkpoint in (text(checkpoint), report(checkpoint)) }
    }

    private func formatDescription(_ checkpoint: Checkpoint) -> String {
        let format = checkpoint.ggufHeader.map { "GGUF v\($0.version)" } ?? checkpoint.format.rawValue
        return checkpoint.isCompressed ? format + " in .nz" : format
    }

    private func text(_ checkpoint: Checkpoint) -> String {
        var lines: [String] = []
        lines.append("\(checkpoint.name): \(formatDescription(checkpoint)), \(Format.grouped(checkpoint.tensors.count)) tensors, "
            + "\(Format.grouped(checkpoint.parameterCount)) parameters, \(Format.grouped(checkpoint.tensorBytes)) bytes of tensor data"
            + (checkpoint.fileSize.map { " (file \(Format.bytes($0)))" } ?? ""))
        if !noMetadata && !checkpoint.metadata.isEmpty {
            lines.append("metadata (\(checkpoint.metadata.count)):")
            for (key, value) in checkpoint.metadata {
                let shown = value.summary.replacingNewlines()
                lines.append("  \(key) = \(shown.count > 160 ? String(shown.prefix(157)) + "..." : shown)")
            }
        }
        var table = TextTable(header: ["tensor", "dtype", "shape", "parameters", "bytes"], leftAligned: [0, 1, 2])
        for tensor in checkpoint.tensors {
            table.append([tensor.name, "\(tensor.type)", tensor.shapeDescription, Format.grouped(tensor.elementCount), Format.grouped(tensor.byteCount)])
        }
        lines.append(table.render())
        return lines.joined(separator: "\n")
    }

    private func report(_ checkpoint: Checkpoint) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("file", .string(checkpoint.name)),
            ("format", .string(checkpoint.format.rawValue)),
            ("compressed", .bool(checkpoint.isCompressed)),
        ]
        if let gguf = checkpoint.ggufHeader { members.append(("gguf_version", JSONOutput.number(Int(gguf.version)))) }
        members += [
            ("tensor_count", JSONOutput.number(checkpoint.tensors.count)),
            ("parameters", JSONOutput.number(checkpoint.parameterCount)),
            ("tensor_bytes", JSONOutput.number(checkpoint.tensorBytes)),
            ("file_bytes", checkpoint.fileSize.map { JSONOutput.number($0) } ?? .null),
        ]
        if !noMetadata {
            members.append(("metadata", .object(checkpoint.metadata.map { ($0.key, JSONOutput.metadata($0.value)) })))
        }
        members.append(("tensors", .array(checkpoint.tensors.map { tensor in
            .object([
                ("name", .string(tensor.name)),
                ("dtype", .string("\(tensor.type)")),
                ("shape", .array(tensor.shape.map { JSONOutput.number($0) })),
                ("parameters", JSONOutput.number(tensor.elementCount)),
                ("bytes", JSONOutput.number(tensor.byteCount)),
            ])
        })))
        return .object(members)
    }
}

extension String {
    /// Newlines shown as "\n" so that one metadata value stays on one line (chat templates have many).
    func replacingNewlines() -> String {
        var out = ""
        for c in self { out += c == "\n" ? "\\n" : String(c) }
        return out
    }
}
