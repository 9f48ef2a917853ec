// swift-tools-version: 6.0
// Kiln: Orbax/Flax, safetensors and GGUF checkpoints in, verified GGUF files out.
import PackageDescription

let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Kiln",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "convert", targets: ["KilnConvert"]),
        .executable(name: "inspect", targets: ["KilnInspect"]),
        .executable(name: "chat", targets: ["KilnChat"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries (apt: libzstd-dev, zlib1g-dev, libopenblas-dev), linked through their module maps.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),

        // Shared vocabulary: mapped files, bounded byte cursors, tensor descriptions, element types, errors.
        .target(name: "KilnCore", swiftSettings: swift6),
        // GGUF v2/v3 reading (zero-copy) and streaming, atomic writing.
        .target(name: "GGUFWriter", dependencies: ["KilnCore"], swiftSettings: swift6),
        // safetensors files and sharded directories.
        .target(name: "Safetensors", dependencies: ["KilnCore"], swiftSettings: swift6),
        // ggml block formats, bit-exact quantizers, type mixes, QAT grid recovery.
        .target(name: "QuantCore", dependencies: ["KilnCore"], swiftSettings: swift6),
        // Orbax/Flax checkpoints: OCDBT key-value store, zarr v2/v3 arrays, the Orbax tree.
        .target(name: "FlaxCheckpoint", dependencies: ["KilnCore", "CZstd", "CZlib"], swiftSettings: swift6),
        // Gemma 3 reference engine, SentencePiece model reader and llama.cpp-exact SPM tokenizer.
        // SIMD kernels for the reference engine (AVX2/FMA/F16C selected at run time, portable C otherwise).
        .target(name: "CKernels"),
        .target(name: "RefInference", dependencies: ["KilnCore", "GGUFWriter", "QuantCore", "CKernels", "COpenBLAS"], swiftSettings: swift6),
        // Checkpoint → GGUF: architectures (one file per family), the conversion plan and its streaming executor.
        .target(name: "Conversion", dependencies: ["KilnCore", "GGUFWriter", "QuantCore", "RefInference"], swiftSettings: swift6),
        // What the command-line front ends share: opening any source, reports, progress, npy output.
        .target(name: "KilnCLI", dependencies: [
            "KilnCore", "GGUFWriter", "Safetensors", "QuantCore", "FlaxCheckpoint", "Conversion", "RefInference",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift6),
        .executableTarget(name: "KilnConvert", dependencies: [
            "KilnCLI", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift6),
        .executableTarget(name: "KilnInspect", dependencies: [
            "KilnCLI", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift6),
        .executableTarget(name: "KilnChat", dependencies: [
            "KilnCLI", "RefInference", "GGUFWriter", "KilnCore", "QuantCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift6),

        .target(name: "KilnTestSupport", path: "Tests/KilnTestSupport", swiftSettings: swift6),
        .testTarget(name: "KilnCoreTests", dependencies: ["KilnCore", "KilnTestSupport"], swiftSettings: swift6),
        .testTarget(name: "GGUFWriterTests", dependencies: ["KilnTestSupport", "GGUFWriter", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "SafetensorsTests", dependencies: ["KilnTestSupport", "Safetensors", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "QuantCoreTests", dependencies: ["QuantCore", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "FlaxCheckpointTests", dependencies: ["FlaxCheckpoint", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "RefInferenceTests", dependencies: ["KilnTestSupport", "RefInference", "GGUFWriter", "QuantCore", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "ConversionTests", dependencies: ["KilnTestSupport", "Conversion", "KilnCLI", "GGUFWriter", "QuantCore", "RefInference", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "KilnCLITests", dependencies: ["KilnTestSupport", "KilnCLI", "GGUFWriter", "KilnCore"], swiftSettings: swift6),
    ]
)

