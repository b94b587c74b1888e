// swift-tools-version:6.0
// libFuzzer targets for swift-mocca's readers of untrusted bytes, one per format. A
// separate package, so that the main one never sees the sanitizer flags; build and run
// them with scripts/fuzz.sh (see the README's "Fuzzing" section).
import PackageDescription

/// Each target fuzzes one byte-level entry point of the library.
let targets: [(name: String, library: String)] = [
    ("fuzz-idx", "MOCCAData"),
    ("fuzz-cifar10", "MOCCAData"),
    ("fuzz-safetensors", "MOCCANN"),
    ("fuzz-manifest", "MOCCA"),
    ("fuzz-png", "MOCCAData"),
    ("fuzz-jpeg", "MOCCAData"),
    ("fuzz-tiff", "MOCCAData"),
]

let package = Package(
    name: "swift-mocca-fuzz",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "swift-mocca", path: "..")],
    targets: [.target(name: "FuzzDriver", path: "Sources/FuzzDriver")] + targets.map { target in
        .executableTarget(name: target.name, dependencies: ["FuzzDriver", .product(name: target.library, package: "swift-mocca")],
                          path: "Sources/\(target.name)")
    },
    swiftLanguageModes: [.v5]
)
