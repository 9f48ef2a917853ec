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
        .executable(name: "verify", targets: ["KilnVerify"]),
        .executable(name: "engine-bench", targets: ["KilnBench"]),
        // The parsers, for the libFuzzer package in fuzz/ (which depends on this package by path).
        .library(name: "KilnFuzzable", targets: ["KilnCore", "GGUFWriter", "Safetensors", "QuantCore", "FlaxCheckpoint", "Tokenizers", "RefInference"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries (apt: libzstd-dev, zlib1g-dev, libopenblas-dev, libstb-dev), linked through their module maps.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
        // stb_image (Debian's precompiled libstb), the image decoder llama.cpp's libmtmd uses.
        .systemLibrary(name: "CStb", pkgConfig: "stb", providers: [.apt(["libstb-dev"])]),

        // Shared vocabulary: mapped files, bounded byte cursors, tensor descriptions, element types, errors.
        .target(name: "KilnCore", swiftSettings: swift6),
        // GGUF v2/v3 reading (zero-copy) and streaming, atomic writing.
        .target(name: "GGUFWriter", dependencies: ["KilnCore"], swiftSettings: swift6),
        // safetensors files and sharded directories.
        .target(name: "Safetensors", dependencies: ["KilnCore"], swiftSettings: swift6),
        // ggml block formats, bit-exact quantizers, type mixes, QAT grid recovery.
        .target(name: "QuantCore", dependencies: ["KilnCore", "GGUFWriter"], swiftSettings: swift6),
        // Orbax/Flax checkpoints: OCDBT key-value store, zarr v2/v3 arrays, the Orbax tree.
        .target(name: "FlaxCheckpoint", dependencies: ["KilnCore", "CZstd", "CZlib"], swiftSettings: swift6),
        // SentencePiece model reader, GGUF vocabulary, llama.cpp-exact SPM tokenizer and the Gemma chat template/format
        // (kept apart from models, as huggingface/swift-transformers keeps `Tokenizers`).
        .target(name: "Tokenizers", dependencies: ["KilnCore", "GGUFWriter"], swiftSettings: swift6),
        // SIMD kernels for the reference engine (AVX2/FMA/F16C selected at run time, portable C otherwise).
        .target(name: "CKernels"),
        // Gemma 3 reference engine and sampler; the float32 path of verify (OpenBLAS sgemm); image decoding (stb_image),
        // mtmd's preprocessing and the SigLIP vision encoder.
        .target(name: "RefInference", dependencies: ["KilnCore", "GGUFWriter", "QuantCore", "CKernels", "COpenBLAS", "CStb"], swiftSettings: swift6),
        // Checkpoint → GGUF: architectures (one file per family), the conversion plan and its streaming executor.
        .target(name: "Conversion", dependencies: ["KilnCore", "GGUFWriter", "QuantCore", "Tokenizers"], swiftSettings: swift6),
        // verify: a source checkpoint's float32 logits against a GGUF's, with llama-perplexity's KL statistics.
        .target(name: "Verify", dependencies: ["KilnCore", "GGUFWriter", "QuantCore", "RefInference", "Tokenizers", "Conversion", "CKernels"], swiftSettings: swift6),
        // What the command-line front ends share: opening any source, reports, progress, npy output.
        .target(name: "KilnCLI", dependencies: [
            "KilnCore", "GGUFWriter", "Safetensors", "QuantCore", "FlaxCheckpoint", "Conversion", "Tokenizers", "Verify",
        ], swiftSettings: swift6),
        // Option groups shared by the commands (one spelling and help text per option).
        .target(name: "KilnArguments", dependencies: [
            "KilnCLI", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift6),
        .executableTarget(name: "KilnConvert", dependencies: [
            "KilnCLI", "KilnArguments", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift6),
        .executableTarget(name: "KilnInspect", dependencies: [
            "KilnCLI", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift6),
        .executableTarget(name: "KilnVerify", dependencies: [
            "KilnCLI", "KilnArguments", "Verify", "KilnCore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift6),
        // A chat session on the reference engine (prompt building, generation, stats), apart from the executable
        // so tests can drive it.
        .target(name: "ChatKit", dependencies: ["KilnCore", "GGUFWriter", "RefInference", "Tokenizers", "Conversion", "KilnCLI", "Verify"], swiftSettings: swift6),
        .executableTarget(name: "KilnChat", dependencies: [
            "ChatKit", "KilnArguments", "RefInference", "Tokenizers", "GGUFWriter", "KilnCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift6),
        // llama-bench's pp/tg tests on the engine, for `make bench` (scripts/bench-engine.sh).
        .executableTarget(name: "KilnBench", dependencies: [
            "KilnArguments", "RefInference", "Tokenizers", "GGUFWriter", "KilnCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift6),

        .target(name: "KilnTestSupport", path: "Tests/KilnTestSupport", swiftSettings: swift6),
        .testTarget(name: "KilnCoreTests", dependencies: ["KilnCore", "KilnTestSupport"], swiftSettings: swift6),
        .testTarget(name: "GGUFWriterTests", dependencies: ["KilnTestSupport", "GGUFWriter", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "SafetensorsTests", dependencies: ["KilnTestSupport", "Safetensors", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "QuantCoreTests", dependencies: ["KilnTestSupport", "QuantCore", "GGUFWriter", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "FlaxCheckpointTests", dependencies: ["KilnTestSupport", "FlaxCheckpoint", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "TokenizersTests", dependencies: ["KilnTestSupport", "Tokenizers", "GGUFWriter", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "RefInferenceTests", dependencies: ["KilnTestSupport", "RefInference", "Tokenizers", "GGUFWriter", "QuantCore", "KilnCore", "CKernels"], swiftSettings: swift6),
        .testTarget(name: "ConversionTests", dependencies: ["KilnTestSupport", "Conversion", "KilnCLI", "ChatKit", "Verify", "GGUFWriter", "QuantCore", "RefInference", "Tokenizers", "Safetensors", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "ChatKitTests", dependencies: ["KilnTestSupport", "ChatKit", "RefInference", "Tokenizers"], swiftSettings: swift6),
        .testTarget(name: "VerifyTests", dependencies: ["KilnTestSupport", "Verify", "KilnCLI", "GGUFWriter", "RefInference", "Tokenizers", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "VisionTests", dependencies: ["KilnTestSupport", "RefInference", "KilnCLI", "ChatKit", "Verify", "Tokenizers", "GGUFWriter", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "KilnCLITests", dependencies: ["KilnTestSupport", "KilnCLI", "GGUFWriter", "KilnCore"], swiftSettings: swift6),
    ]
)

