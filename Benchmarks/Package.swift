// swift-tools-version:6.1
// Benchmarks for Chorus: a bulk batch generator and micro-benchmarks (package-benchmark). A separate
// package, so nothing here is built by the root package's `swift build` or `swift test`.
// Run everything with scripts/bench.sh at the repository root.
import Foundation
import PackageDescription

// A path dependency is known by its folder's name, which is not always "main" (a clone may live in
// any folder): take it from where this manifest is.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let chorusKit: Target.Dependency = .product(name: "ChorusKit", package: root.lastPathComponent.lowercased())

let package = Package(
    name: "ChorusBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Writes a batch of N synthetic entries through the library, on every core.
        .executableTarget(
            name: "chorus-bulkgen",
            dependencies: [chorusKit],
            path: "Sources/chorus-bulkgen"
        ),
        // Micro-benchmarks of envelope encoding and decoding and of the crypto wrappers.
        .executableTarget(
            name: "ChorusMicro",
            dependencies: [
                chorusKit,
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/ChorusMicro",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
