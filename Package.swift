// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-mocca",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "MOCCACore", targets: ["MOCCACore"]),
        .library(name: "MOCCANN", targets: ["MOCCANN"]),
        .library(name: "MOCCAModels", targets: ["MOCCAModels"]),
        .library(name: "MOCCAData", targets: ["MOCCAData"]),
        .library(name: "MOCCA", targets: ["MOCCA"]),
        .library(name: "MOCCABenchmark", targets: ["MOCCABenchmark"]),
        .library(name: "MOCCAReport", targets: ["MOCCAReport"]),
        .executable(name: "mocca", targets: ["mocca"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries from Debian, reached through system-library targets.
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-openmp-dev"])]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CTIFF", path: "Sources/CTIFF", pkgConfig: "libtiff-4", providers: [.apt(["libtiff-dev"])]),

        // Vector loops compiled per x86-64 instruction set (baseline, AVX2, AVX-512), for the core.
        .target(name: "CKernels"),
        // The tensor/autograd core: knows nothing of layers or of MOCCA.
        .target(name: "MOCCACore", dependencies: ["CDNNL", "COpenBLAS", "CKernels"]),
        // Layers, initialisers, optimisers, schedules, weight files.
        .target(name: "MOCCANN", dependencies: ["MOCCACore"]),
        // Network architectures built from MOCCANN layers.
        .target(name: "MOCCAModels", dependencies: ["MOCCANN"]),
        // Data sets: readers for CIFAR-10, IDX (MNIST), image folders and videos, preprocessing, batching.
        .target(name: "MOCCAData", dependencies: ["MOCCACore", "CTurboJPEG", "CPNG", "CZlib", "CTIFF"]),
        // The MOCCA method: taps, centroids, one-class objectives, scores, detectors, metrics.
        .target(name: "MOCCA", dependencies: ["MOCCAModels", "MOCCAData"]),
        // The paper's one-class protocol over classes, seeds and boundaries: plan, runner,
        // resumable results, pretrained autoencoders by key, table; the ADBench-style table benchmark.
        .target(name: "MOCCABenchmark", dependencies: ["MOCCA", "MOCCACore", "MOCCANN", "MOCCAData"]),
        // Inspection reports: an HTML page with PNG figures (ROC, histograms, per-tap
        // AUROC, heat-map overlays) drawn without a plotting library.
        .target(name: "MOCCAReport", dependencies: ["MOCCA", "MOCCAData", "MOCCACore"]),
        // The command-line tool.
        .executableTarget(name: "mocca", dependencies: [
            "MOCCA",
            "MOCCABenchmark",
            "MOCCAReport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], resources: [.copy("Resources/fashion-mnist")]),

        // Helpers shared by the test targets: fixtures, PyTorch's deterministic fill, tolerances.
        .target(name: "MOCCATestSupport", dependencies: ["MOCCANN"], path: "Tests/Support"),
        .testTarget(name: "MOCCACoreTests", dependencies: ["MOCCACore", "CKernels", "MOCCATestSupport"]),
        .testTarget(name: "MOCCANNTests", dependencies: ["MOCCANN", "MOCCAModels", "MOCCATestSupport"],
                    exclude: ["../Fixtures"]),
        .testTarget(name: "MOCCADataTests", dependencies: ["MOCCAData", "MOCCATestSupport"], exclude: ["../Fixtures"]),
        .testTarget(name: "MOCCAModelsTests", dependencies: ["MOCCAModels", "MOCCATestSupport"]),
        .testTarget(name: "MOCCATests", dependencies: ["MOCCA", "MOCCAData", "MOCCAModels", "MOCCATestSupport"]),
        .testTarget(name: "MOCCAReportTests", dependencies: ["MOCCAReport", "MOCCA", "MOCCAData", "MOCCATestSupport"]),
        .testTarget(name: "MOCCABenchmarkTests", dependencies: ["MOCCABenchmark", "MOCCA", "MOCCACore"]),
        // End-to-end tests: the built `mocca` executable run as a process on generated images.
        .testTarget(name: "moccaTests", dependencies: ["mocca", "MOCCACore", "MOCCANN", "MOCCATestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
