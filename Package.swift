// swift-tools-version:6.0
import PackageDescription

// The modules, from the bottom up; each depends only on modules above it in this list (docs/
// ARCHITECTURE.md draws the graph, and scripts/check-layers.py, run by `make test`, refuses an import
// that goes the other way).
let package = Package(
    name: "Chorus",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "chorus", targets: ["chorus"]),
        .library(name: "ChorusKit", targets: ["ChorusCrypto", "ChorusFormat", "ChorusSystem", "ChorusCore", "ChorusStore", "ChorusStats", "ChorusReading"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        // The C edge: the system libsodium. Only ChorusCrypto imports it.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
        ),
        // The other C edge: the system GLPK, the integer-programming solver of the joint disclosure
        // audit. Only ChorusStats imports it.
        .systemLibrary(name: "CGLPK", providers: [.apt(["libglpk-dev"]), .brew(["glpk"])]),
        // Swift types over libsodium; no C pointer leaves this module.
        .target(name: "ChorusCrypto", dependencies: ["CSodium"]),
        // Wire formats (envelope, batch, keys, answers, JSON strings): bytes only, no keys, no crypto.
        .target(name: "ChorusFormat"),
        // Every system call, the one durable-write recipe, input files, the terminal, display-safe text.
        .target(name: "ChorusSystem", dependencies: ["ChorusCrypto", "ChorusFormat"]),
        // Keys, envelopes (sealing and opening), receipts, stories, the questionnaire.
        .target(name: "ChorusCore", dependencies: ["ChorusCrypto", "ChorusFormat", "ChorusSystem"]),
        // The directory store, batch files, reading sources, structural verification.
        .target(name: "ChorusStore", dependencies: ["ChorusCore", "ChorusCrypto", "ChorusFormat", "ChorusSystem"]),
        // Counting with disclosure control (suppression, differential privacy), the ledger, reports.
        .target(name: "ChorusStats", dependencies: ["CGLPK", "ChorusCrypto", "ChorusFormat", "ChorusSystem"]),
        // The reading pipelines: the auditor, review and stats runs.
        .target(name: "ChorusReading", dependencies: ["ChorusStore", "ChorusStats", "ChorusCore", "ChorusCrypto", "ChorusFormat", "ChorusSystem"]),
        .executableTarget(
            name: "chorus",
            dependencies: [
                "ChorusReading", "ChorusStore", "ChorusStats", "ChorusCore", "ChorusSystem", "ChorusCrypto", "ChorusFormat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test-only: regenerates Tests/Vectors reproducibly from fixed keys and seeds.
        .executableTarget(
            name: "chorus-vectorgen",
            dependencies: ["ChorusCore", "ChorusCrypto", "ChorusFormat"],
            path: "Tests/VectorGen"
        ),
        // Helpers shared by the unit tests (scratch folders, hand-made envelopes and batches, expectations).
        .target(
            name: "ChorusTestSupport",
            dependencies: [
                "ChorusStore", "ChorusStats", "ChorusCore", "ChorusSystem", "ChorusCrypto", "ChorusFormat",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            path: "Tests/ChorusTestSupport"
        ),
        .testTarget(name: "ChorusCryptoTests", dependencies: ["ChorusCrypto"]),
        .testTarget(name: "ChorusFormatTests", dependencies: ["ChorusFormat"]),
        .testTarget(name: "ChorusSystemTests", dependencies: ["ChorusSystem", "ChorusCrypto", "ChorusFormat", "ChorusTestSupport"]),
        .testTarget(
            name: "ChorusCoreTests",
            dependencies: ["ChorusCore", "ChorusSystem", "ChorusCrypto", "ChorusFormat", "ChorusTestSupport"],
            exclude: ["Vectors"]
        ),
        .testTarget(name: "ChorusStoreTests", dependencies: ["ChorusStore", "ChorusCore", "ChorusSystem", "ChorusCrypto", "ChorusFormat", "ChorusTestSupport"]),
        .testTarget(name: "ChorusStatsTests", dependencies: ["ChorusStats", "ChorusCrypto", "ChorusTestSupport"]),
        .testTarget(
            name: "ChorusReadingTests",
            dependencies: [
                "ChorusReading", "ChorusStore", "ChorusStats", "ChorusCore", "ChorusSystem", "ChorusCrypto", "ChorusFormat", "ChorusTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "ChorusCLITests", dependencies: ["chorus", "ChorusCore", "ChorusCrypto", "ChorusFormat", "ChorusTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
