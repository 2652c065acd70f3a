// swift-tools-version:6.0
import PackageDescription

/// System libraries from Debian's -dev packages (see notes in README "Install").
let systemLibraries: [Target] = [
    .systemLibrary(
        name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
        providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(
        name: "CFFTW", path: "Sources/CFFTW", pkgConfig: "fftw3f",
        providers: [.apt(["libfftw3-dev"])]),
    .systemLibrary(
        name: "CTIFF", path: "Sources/CTIFF", pkgConfig: "libtiff-4",
        providers: [.apt(["libtiff-dev"])]),
    .systemLibrary(
        name: "CDNNL", path: "Sources/CDNNL", pkgConfig: nil,
        providers: [.apt(["libdnnl-dev"])]),
    .systemLibrary(
        name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
        providers: [.apt(["libpng-dev"])]),
]

/// Optional stages, one target per family, registered in `Sources/StageCatalog/StageCatalog.swift`.
let stagePlugins = ["Smoothing", "Resampling", "Intensity", "Deconvolution"]

/// What each plugin links besides FilterKit.
let pluginDependencies: [String: [Target.Dependency]] = ["Deconvolution": ["CFFTW", "FFTSupport"]]

/// libFuzzer targets (`Fuzz/`), part of the package only for `scripts/fuzz.sh`, which builds them
/// with `--sanitize=fuzzer` (they have no `main`, so an ordinary build could not link them).
let fuzzTargets: [Target] = Context.environment["STDIO_FILTER_FUZZ"] == nil ? [] : [
    .target(name: "FuzzSupport", dependencies: ["FilterKit"], path: "Fuzz/FuzzSupport"),
    .executableTarget(name: "FuzzMRCHeader", dependencies: ["FilterKit"], path: "Fuzz/FuzzMRCHeader"),
    .executableTarget(name: "FuzzMRCFile", dependencies: ["FuzzSupport", "FilterKit"], path: "Fuzz/FuzzMRCFile"),
    .executableTarget(name: "FuzzTIFF", dependencies: ["FuzzSupport", "FilterKit"], path: "Fuzz/FuzzTIFF"),
    .executableTarget(name: "FuzzSafetensors", dependencies: ["FuzzSupport", "FilterKit", "S2SFilter"], path: "Fuzz/FuzzSafetensors"),
    .executableTarget(name: "FuzzStatistics", dependencies: ["FuzzSupport", "FilterKit"], path: "Fuzz/FuzzStatistics"),
    .executableTarget(name: "FuzzChainSpec", dependencies: ["FilterKit", "StageCatalog"], path: "Fuzz/FuzzChainSpec"),
]

let package = Package(
    name: "stdio-filter",
    products: [
        .executable(name: "stdio-filter", targets: ["stdio-filter"]),
        .library(name: "FilterKit", targets: ["FilterKit"]),
        .library(name: "S2SFilter", targets: ["S2SFilter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: systemLibraries + stagePlugins.map {
        .target(name: $0, dependencies: ["FilterKit"] + pluginDependencies[$0, default: []], path: "plugins/\($0)")
    } + [
        .target(name: "FilterKit", dependencies: ["CTIFF", "CSystem"]),
        /// Linux calls that need _GNU_SOURCE (CPU affinity).
        .target(name: "CSystem"),
        /// FFTW done once per process (threads, wisdom, the planner lock), for the FFT users.
        .target(name: "FFTSupport", dependencies: ["FilterKit", "CFFTW"]),
        /// What a user needs to judge a denoiser: synthetic tomograms with their ground truth
        /// (`synth`), quality scores (`score`) and previews (`preview`).
        .target(name: "Evaluation", dependencies: ["FilterKit", "FFTSupport", "CFFTW", "CPNG"]),
        /// Tomography from the tomogram alone: its tilt angles, found from the power spectrum.
        .target(name: "Tomography", dependencies: ["FilterKit", "FFTSupport", "CFFTW"]),
        /// glibc's malloc_trim (not in Swift's Glibc module).
        .target(name: "CMalloc"),
        /// Vector kernels (AVX-512) picked at run time, for loops Swift's baseline build cannot vectorise.
        .target(name: "CKernels"),
        .target(name: "S2SFilter", dependencies: ["FilterKit", "Tomography", "CBLAS", "CDNNL", "CMalloc", "CKernels"]),
        /// The registry of every stage (the plugins and s2s), shared by the tool, tests and fuzzers.
        /// The C ABI of runtime plugins (`include/stdio_filter_plugin.h`, all a plugin author needs).
        .target(name: "CStdioFilterPlugin"),
        /// Loads plugins (shared libraries) and runs their stages through the C ABI.
        .target(name: "RuntimePlugins", dependencies: ["FilterKit", "CStdioFilterPlugin"]),
        .target(name: "StageCatalog", dependencies: ["FilterKit", "S2SFilter", "RuntimePlugins"] + stagePlugins.map { .target(name: $0) }),
        .executableTarget(
            name: "stdio-filter",
            dependencies: [
                "FilterKit", "S2SFilter", "StageCatalog", "RuntimePlugins", "Evaluation", "Tomography", "CFFTW", "CTIFF",
            ] + stagePlugins.map { .target(name: $0) } + [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "FilterKitTests", dependencies: ["FilterKit", "Tomography"], exclude: ["Fixtures"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "FilterKit"]),
        .testTarget(name: "StagesTests", dependencies: ["FilterKit", "S2SFilter"] + stagePlugins.map { .target(name: $0) }),
        .testTarget(name: "S2SFilterTests", dependencies: ["S2SFilter", "FilterKit"]),
        .testTarget(name: "StdioFilterTests", dependencies: ["stdio-filter", "FilterKit", "StageCatalog", "CPNG"]),
    ] + fuzzTargets
)
