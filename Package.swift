// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Chorus",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "chorus", targets: ["chorus"]),
        .library(name: "ChorusKit", targets: ["ChorusCrypto", "ChorusFormat", "ChorusCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The C edge: the system libsodium. Only ChorusCrypto imports it.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
        ),
        // Swift types over libsodium; no C pointer leaves this module.
        .target(name: "ChorusCrypto", dependencies: ["CSodium"]),
        // Wire formats (envelope, batch, keys, receipts, answers): bytes only, no keys, no crypto.
        .target(name: "ChorusFormat"),
        // Keys, sealing and opening, questionnaire, the directory store, reading sources.
        .target(name: "ChorusCore", dependencies: ["ChorusCrypto", "ChorusFormat"]),
        // Counting with disclosure control (suppression, differential privacy) and reports.
        .target(name: "ChorusStats", dependencies: ["ChorusCrypto"]),
        .executableTarget(
            name: "chorus",
            dependencies: [
                "ChorusCore", "ChorusStats", "ChorusCrypto", "ChorusFormat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test-only: regenerates Tests/Vectors reproducibly from fixed keys and seeds.
        .executableTarget(
            name: "chorus-vectorgen",
            dependencies: ["ChorusCore", "ChorusCrypto", "ChorusFormat"],
            path: "Tests/VectorGen"
        ),
        .testTarget(name: "ChorusCryptoTests", dependencies: ["ChorusCrypto"]),
        .testTarget(name: "ChorusFormatTests", dependencies: ["ChorusFormat"]),
        .testTarget(
            name: "ChorusCoreTests",
            dependencies: ["ChorusCore", "ChorusCrypto", "ChorusFormat"],
            exclude: ["Vectors"]
        ),
        .testTarget(name: "ChorusStatsTests", dependencies: ["ChorusStats", "ChorusCrypto"]),
        .testTarget(name: "ChorusCLITests", dependencies: ["chorus", "ChorusCore", "ChorusCrypto", "ChorusFormat"]),
    ],
    swiftLanguageModes: [.v6]
)
