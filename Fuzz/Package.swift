// swift-tools-version:6.0
// libFuzzer targets for every reader of untrusted bytes. Built apart from the main package because they
// need -sanitize=fuzzer,address and -parse-as-library: see `make fuzz` and Fuzz/README.md.
import PackageDescription

let fuzzers = ["fuzz-safetensors", "fuzz-gguf", "fuzz-shard-index", "fuzz-nz", "fuzz-entropy"]

let package = Package(
    name: "Fuzz",
    dependencies: [.package(name: "neuraltools", path: "..")],
    targets: fuzzers.map { name in
        .executableTarget(name: name, dependencies: ["FuzzDriver", .product(name: "FuzzTargets", package: "neuraltools")])
    } + [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "make-seeds", dependencies: [.product(name: "Checkpoint", package: "neuraltools")]),
    ]
)
