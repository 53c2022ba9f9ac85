// swift-tools-version:5.4
// Coverage-guided fuzzing of the Chorus parsers with libFuzzer (issue "Hardening", item 4).
// A separate package so that the root package stays small; run it through scripts/fuzz.sh, which
// builds with `-sanitize=fuzzer,address` into Tests/Fuzz/.build-fuzz.
//
// Each fuzz-* target defines LLVMFuzzerTestOneInput and has no main (libFuzzer provides it).
// fuzz-seeds is an ordinary executable, built without sanitizers, that writes the seed corpora.
import PackageDescription

let chorus: [Target.Dependency] = [.product(name: "ChorusKit", package: "Chorus")]

let package = Package(
    name: "ChorusFuzz",
    dependencies: [
        .package(name: "Chorus", path: "../.."),
    ],
    targets: [
        // Fixed keys and helpers shared by the fuzz targets and the seed generator.
        .target(name: "FuzzSupport", dependencies: chorus),
        .executableTarget(name: "fuzz-envelope", dependencies: chorus + ["FuzzSupport"]),
        .executableTarget(name: "fuzz-batch", dependencies: chorus + ["FuzzSupport"]),
        .executableTarget(name: "fuzz-keyfiles", dependencies: chorus + ["FuzzSupport"]),
        .executableTarget(name: "fuzz-schema", dependencies: chorus + ["FuzzSupport"]),
        .executableTarget(name: "fuzz-answers", dependencies: chorus + ["FuzzSupport"]),
        .executableTarget(name: "fuzz-seeds", dependencies: chorus + ["FuzzSupport"]),
    ]
)
