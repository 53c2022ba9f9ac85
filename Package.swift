// swift-tools-version:6.1
import PackageDescription

// The modules, from the bottom up; each depends only on modules above it in this list (docs/
// ARCHITECTURE.md draws the graph, and scripts/check-layers.py, run by `make test`, refuses an import
// that goes the other way).
let package = Package(
    name: "Chorus",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "chorus", targets: ["chorus"]),
        .library(name: "ChorusKit", targets: ["ChorusCrypto", "ChorusFormat", "ChorusSystem", "ChorusCore", "ChorusStore", "ChorusStats", "ChorusReading", "ChorusIntake"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        // The intake server (`chorus serve`) and its client (`submit --to`, through Tor's SOCKS port).
        // Hummingbird's default traits pull in swift-configuration, which nothing here uses.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
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
        // The intake over HTTP: `chorus serve` (the API, the submission page, limits and hygiene) and
        // the client of `submit --to` and `withdraw --to`.
        .target(
            name: "ChorusIntake",
            dependencies: [
                "ChorusStore", "ChorusCore", "ChorusCrypto", "ChorusFormat", "ChorusSystem",
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "chorus",
            dependencies: [
                "ChorusIntake", "ChorusReading", "ChorusStore", "ChorusStats", "ChorusCore", "ChorusSystem", "ChorusCrypto", "ChorusFormat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
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
        .testTarget(
            name: "ChorusIntakeTests",
            dependencies: [
                "ChorusIntake", "ChorusStore", "ChorusCore", "ChorusCrypto", "ChorusFormat", "ChorusSystem", "ChorusTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "ChorusCLITests", dependencies: ["chorus", "ChorusCore", "ChorusCrypto", "ChorusFormat", "ChorusTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
