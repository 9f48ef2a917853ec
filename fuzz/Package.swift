// swift-tools-version: 6.0
// Kiln's libFuzzer targets, kept out of the main package so that its `swift build` is unaffected.
// Build: swift build -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing (see ../Makefile `fuzz`).
import Foundation
import PackageDescription

// The main package is the parent directory; SwiftPM names a path dependency after its directory.
let kiln = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "KilnFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: "..")],
    targets: [
        // One binary, one libFuzzer entry point; KILN_FUZZ_TARGET selects the parser (see Targets.swift).
        .executableTarget(name: "KilnFuzz", dependencies: [
            .product(name: "KilnFuzzable", package: kiln),
        ], swiftSettings: [.swiftLanguageMode(.v6), .unsafeFlags(["-parse-as-library"])]),
    ]
)
