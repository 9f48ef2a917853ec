// swift-tools-version: 6.0
// QuantCore on its own: runs its tests and a quantize benchmark without building the rest of Kiln.
//   cd scripts/quant-harness
//   swift test --scratch-path ../../.build-quant-harness
//   swift build -c release --scratch-path ../../.build-quant-harness --product QuantBench && ../../.build-quant-harness/release/QuantBench [TYPE...] [ref]
// Sources/ and Tests/ are symlinks to the real targets; fixtures/ links to the repository's fixtures.
import PackageDescription

let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "QuantHarness",
    targets: [
        .target(name: "KilnCore", swiftSettings: swift6),
        .target(name: "QuantCore", dependencies: ["KilnCore"], swiftSettings: swift6),
        .executableTarget(name: "QuantBench", dependencies: ["QuantCore", "KilnCore"], swiftSettings: swift6),
        .testTarget(name: "QuantCoreTests", dependencies: ["QuantCore", "KilnCore"], swiftSettings: swift6),
    ]
)
