import Checkpoint
import NeuZip
import ToolSupport

/// What nzip and nunzip do to one file; the two commands share all of it (`nzip -d` is nunzip).
enum NZFileActions {
    /// The output path for compressing `input` (nil: standard output).
    static func compressedPath(for input: String, _ output: OutputOptions) -> String? {
        if let path = output.output { return path }
        if output.toStdout || input == "-" { return nil }
        return input + ".nz"
    }

    /// Compresses one input and reports its ratio.
    static func compress(_ input: String, output: OutputOptions, options: NZOptions, run: RunOptions) throws {
        let source = try InputSource.open(input)
        if try source.isNZ() { throw ToolError("\(source.name): already a .nz file") }
        let checkpoint = try Checkpoint.open(source)
        let path = compressedPath(for: input, output)
        let target = try openTarget(path, input: input, output: output)
        let progress = Progress(label: checkpoint.name, total: checkpoint.fileSize, enabled: run.showsProgress)
        let summary: NZSummary
        do {
            summary = try NZEncoder.compress(checkpoint, to: target.sink, options: options, progress: progress.update)
            progress.finish()
            try checkpoint.verifyUnchanged()
            try target.commit()
        } catch {
            progress.finish()
            target.discard()
            throw error
        }
        if run.showsSummaries {
            ToolRunner.writeError("\(checkpoint.name): \(percent(summary.compressedSize, of: summary.originalSize)) "
                + "(\(Format.bytes(summary.originalSize)) => \(Format.bytes(summary.compressedSize)), \(target.name))")
        }
        try removeIfAsked(input, output: output, target: target, verify: { _ = try NZDecoder(path: $0).restore(to: nil, threads: run.resolvedThreads) })
    }

    /// Restores the original file from a .nz input.
    static func restore(_ input: String, source: InputSource, output: OutputOptions, run: RunOptions) throws {
        let decoder = try NZDecoder(source)
        let path: String?
        if let explicit = output.output {
            path = explicit
        } else if output.toStdout || input == "-" {
            path = nil
        } else if input.hasSuffix(".nz") && input.count > 3 {
            path = String(input.dropLast(3))
        } else {
            throw ToolError("\(input): unknown suffix (expected .nz); use -o FILE or -c")
        }
        let target = try openTarget(path, input: input, output: output)
        let progress = Progress(label: decoder.name, total: nil, enabled: run.showsProgress)
        do {
            let scan = try decoder.restore(to: target.sink, threads: run.resolvedThreads, progress: progress.update)
            progress.finish()
            try decoder.verifyUnchanged()
            try target.commit()
            if run.showsSummaries { ToolRunner.writeError("\(decoder.name): \(Format.bytes(scan.summary.originalSize)), \(target.name)") }
        } catch {
            progress.finish()
            target.discard()
            throw error
        }
        try removeIfAsked(input, output: output, target: target, verify: { _ = $0 })
    }

    /// Decodes one tensor of a .nz file into a one-tensor safetensors file (its dtype kept where
    /// safetensors can hold it, dequantised to F32 where not).
    static func extractTensor(_ tensorName: String, from input: String, source: InputSource, output: OutputOptions) throws {
        let decoder = try NZDecoder(source)
        guard let index = decoder.tensors.firstIndex(where: { $0.name == tensorName }) else {
            throw ToolError("\(decoder.name): no tensor named '\(tensorName)'")
        }
        let tensor = decoder.tensors[index]
        var bytes = try decoder.tensorBytes(index)
        var type = tensor.type
        if type.safetensorsName == nil {
            var floats = [Float](repeating: 0, count: tensor.elementCount)
            do {
                try bytes.withUnsafeBytes { raw in try floats.withUnsafeMutableBufferPointer { try ElementCodec.decode(type, raw, into: $0) } }
            } catch let error as FormatError { throw CheckpointError(file: decoder.name, "tensor '\(tensorName)': \(error.message)") }
            bytes = floats.withUnsafeBytes { Array($0) }
            type = .f32
        }
        let header = try SafetensorsHeader.contiguous([(tensor.name, type, tensor.shape)], metadata: nil)
        let target = try openTarget(output.output, input: input, output: output)
        do {
            let writer = try CheckpointWriter(safetensors: header, to: target.sink, name: target.name)
            try bytes.withUnsafeBytes { try writer.write($0) }
            try writer.finish()
            try target.commit()
        } catch {
            target.discard()
            throw error
        }
    }

    /// Converts GGUF or safetensors input to dense safetensors in `dtype`.
    static func convertToDense(_ input: String, source: InputSource, dtype: TensorType, output: OutputOptions, run: RunOptions) throws {
        let checkpoint = try Checkpoint.open(source)
        let path: String?
        if let explicit = output.output {
            path = explicit
        } else if output.toStdout || input == "-" {
            path = nil
        } else if checkpoint.format == .gguf && input.hasSuffix(".gguf") {
            path = String(input.dropLast(5)) + ".safetensors"
        } else {
            throw ToolError("\(input): say where the dense safetensors go: -o FILE or -c")
        }
        let target = try openTarget(path, input: input, output: output)
        do {
            try checkpoint.writeDenseSafetensors(dtype: dtype, to: target.sink, name: target.name)
            try checkpoint.verifyUnchanged()
            try target.commit()
        } catch {
            target.discard()
            throw error
        }
        try removeIfAsked(input, output: output, target: target, verify: { _ = try Checkpoint.open($0) })
    }

    /// Lists a .nz file: per tensor dtype, shape, original and stored bytes, ratio and codec; then totals.
    static func list(_ input: String, json: Bool) throws {
        let decoder = try NZDecoder(path: input)
        let scan = try decoder.scan()
        let summary = scan.summary
        let stored = scan.storedSize
        if json {
            JSONOutput.printLine(.object([
                ("file", .string(decoder.name)),
                ("format", .string(decoder.format.rawValue)),
                ("lossy_mantissa_bits", decoder.keptMantissaBits.map { JSONOutput.number($0) } ?? .null),
                ("tensors", .array(summary.tensors.map { t in .object([
                    ("name", .string(t.name)), ("dtype", .string("\(t.type)")), ("shape", .array(t.shape.map { JSONOutput.number($0) })),
                    ("original_bytes", JSONOutput.number(t.originalBytes)), ("stored_bytes", JSONOutput.number(t.storedBytes)),
                    ("codec", .string(t.codecs.sorted().joined(separator: "+"))),
                ]) })),
                ("original_bytes", JSONOutput.number(summary.originalSize)),
                ("stored_bytes", JSONOutput.number(stored)),
            ]))
            return
        }
        var table = TextTable(header: ["tensor", "dtype", "shape", "original", "stored", "%", "codec"], leftAligned: [0, 1, 2, 6])
        for t in summary.tensors {
            table.append([t.name, "\(t.type)", "[" + t.shape.map(String.init).joined(separator: ", ") + "]", Format.grouped(t.originalBytes),
                          Format.grouped(t.storedBytes), percent(t.storedBytes, of: t.originalBytes), t.codecs.sorted().joined(separator: "+")])
        }
        table.append(["(header, padding, index)", "", "", Format.grouped(summary.otherOriginalBytes),
                      Format.grouped(stored - summary.tensors.reduce(0) { $0 + $1.storedBytes }), "", ""])
        table.append(["total", "", "", Format.grouped(summary.originalSize), Format.grouped(stored), percent(stored, of: summary.originalSize), ""])
        let mode = decoder.keptMantissaBits.map { "lossy, \($0) mantissa bits kept" } ?? "lossless"
        print("\(decoder.name): .nz of \(decoder.format.rawValue), \(mode)\n" + table.render())
    }

    /// Verifies every checksum and the layout without writing anything.
    static func test(_ input: String, run: RunOptions) throws {
        let decoder = try NZDecoder(path: input)
        let scan = try decoder.restore(to: nil, threads: run.resolvedThreads)
        if run.showsSummaries { ToolRunner.writeError("\(decoder.name): OK (\(scan.recordCount) records, \(Format.bytes(scan.summary.originalSize)))") }
    }

    // MARK: helpers

    static func percent(_ part: Int, of whole: Int) -> String {
        whole > 0 ? Format.fixed(100 * Double(part) / Double(whole), 2) + "%" : "-"
    }

    static func openTarget(_ path: String?, input: String, output: OutputOptions) throws -> OutputTarget {
        guard let path else { return try OutputTarget.standardOutput(force: output.force) }
        try InputProtection.check(output: path, against: input)
        return try OutputTarget.file(path, force: output.force)
    }

    /// `--rm`: only for a file output, only after it verifies.
    static func removeIfAsked(_ input: String, output: OutputOptions, target: OutputTarget, verify: (String) throws -> Void) throws {
        guard output.removeInput, input != "-" else { return }
        guard target.isFile else { throw ToolError("\(input): not removed: --rm needs a file output to verify first") }
        try verify(target.name)
        try InputProtection.remove(input)
    }
}
