// swift-tools-version:6.0
// The model-compression toolchain: six command-line tools over one checkpoint-format library.
import PackageDescription

/// A C library from Debian, found through pkg-config.
func systemLibrary(_ name: String, pkgConfig: String, apt: [String]) -> Target {
    .systemLibrary(name: name, path: "Sources/\(name)", pkgConfig: pkgConfig, providers: [.apt(apt)])
}

let package = Package(
    name: "neuraltools",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mstat", targets: ["mstat"]),
        .executable(name: "floratrain", targets: ["floratrain"]),
        .executable(name: "gingeropt", targets: ["gingeropt"]),
        .executable(name: "nzip", targets: ["nzip"]),
        .executable(name: "invarq", targets: ["invarq"]),
        .executable(name: "nunzip", targets: ["nunzip"]),
        .library(name: "Checkpoint", targets: ["Checkpoint"]),
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        systemLibrary("CZstd", pkgConfig: "libzstd", apt: ["libzstd-dev"]),
        systemLibrary("CLZ4", pkgConfig: "liblz4", apt: ["liblz4-dev"]),
        systemLibrary("COpenBLAS", pkgConfig: "openblas", apt: ["libopenblas-dev"]),
        systemLibrary("CXXHash", pkgConfig: "libxxhash", apt: ["libxxhash-dev"]),
        // glibc's malloc.h (mallopt), part of libc6-dev.
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        // The compiler's prefetch builtin (no library).
        .systemLibrary(name: "CCacheHints", path: "Sources/CCacheHints"),

        .target(name: "Kernels", dependencies: ["COpenBLAS", "CMalloc"]),
        .target(name: "NeuZip", dependencies: ["Kernels", "CZstd", "CLZ4", "CXXHash", "CCacheHints"]),
        .target(name: "Checkpoint", dependencies: ["Kernels", "NeuZip"]),
        .target(name: "LM", dependencies: ["Checkpoint", "Kernels", "NeuZip"]),
        .target(name: "Optimizers", dependencies: ["Checkpoint", "Kernels"]),
        .target(name: "Quantization", dependencies: ["LM", "Checkpoint", "Kernels"]),
        .target(name: "Training", dependencies: ["LM", "Optimizers", "Checkpoint", "Kernels"]),
        .target(name: "ToolSupport", dependencies: [
            "Checkpoint", "Kernels",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "NZTool", dependencies: [
            "ToolSupport", "Checkpoint", "NeuZip",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "TrainTool", dependencies: [
            "Training", "LM", "Optimizers", "Checkpoint", "Kernels", "ToolSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "floratrain", dependencies: ["TrainTool", "Optimizers", "ToolSupport",
                                                             .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "gingeropt", dependencies: ["TrainTool", "Optimizers", "ToolSupport",
                                                            .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "mstat", dependencies: ["ToolSupport", "Checkpoint", "Kernels", "LM"]),
        .executableTarget(name: "nzip", dependencies: ["NZTool"]),
        .executableTarget(name: "invarq", dependencies: ["Quantization", "LM", "Checkpoint", "Kernels", "ToolSupport",
                                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "nunzip", dependencies: ["NZTool", "ToolSupport"]),
        .executableTarget(name: "neuzip-bench", dependencies: ["Checkpoint", "Kernels"]),
        // Fuzzing entry points, shared by Fuzz/ (libFuzzer) and the regression tests.
        .target(name: "FuzzTargets", dependencies: ["Checkpoint", "NeuZip"]),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "QuantizationTests", dependencies: ["Quantization", "Checkpoint", "Kernels", "TestSupport"], exclude: ["Python"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"]),
        .testTarget(name: "NeuZipTests", dependencies: ["NeuZip", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Optimizers", "Kernels", "Checkpoint", "TestSupport"]),
        .testTarget(name: "OptimizersTests", dependencies: ["Optimizers", "Kernels", "Checkpoint", "TestSupport"]),
        .testTarget(name: "LMTests", dependencies: ["LM", "Checkpoint", "Kernels", "TestSupport"], exclude: ["Python", "Fixtures"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "TestSupport", "FuzzTargets"], exclude: ["Python", "FuzzRegressions"]),
        .testTarget(name: "ToolTests", dependencies: ["Checkpoint", "TestSupport", "mstat", "nzip", "nunzip", "floratrain", "gingeropt", "invarq"],
                    exclude: ["Python"]),
    ]
)
