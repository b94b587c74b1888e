import ArgumentParser
import Foundation
import MOCCA
import MOCCABenchmark
import MOCCAData

/// `mocca benchmark adbench`: MOCCA on every table of a folder of ADBench `.npz` files,
/// on seeded one-class splits that the PyOD script reuses; one table for both.
struct ADBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adbench",
        abstract: "Run MOCCA on ADBench's tables (a folder of .npz files with X and y) over seeds; print one table with PyOD's results.",
        discussion: """
            For each set and seed: 70% of the normal rows (at most \(TableSplit.maximumTrainingRows), a seeded \
            subsample) train; the other normal rows and every anomaly test. The splits are \
            written to OUT/splits/ for scripts/bench/pyod_adbench.py, which runs PyOD's \
            DeepSVDD, IForest, KNN and ECOD on the same rows into OUT/pyod.jsonl.

            Recorded from each run (OUT/mocca.jsonl; resumable): the nearest-neighbour and \
            the paper's centroid score after the one-class phase, hard and soft; the \
            nearest-neighbour score of the pretrained encoder; the reconstruction error. \
            The claim is about \(TableBenchmark.chosenMethod) (the defaults), chosen before the run.
            """)

    @Option(help: "The folder of .npz files.") var data: String
    @Option(help: "Comma-separated set names (file names without .npz), or 'all'.") var sets = "all"
    @Option(help: "Comma-separated seeds.") var seeds = "0,1,2"
    @Option(help: "The results folder.") var out: String
    @Option(help: "Per-feature scaling: standard or robust.") var scaling: FeatureScaling.Method = .standard
    @Option(help: "Comma-separated hidden-layer widths of the mlp network (default: 64, then the code of --code-length, 32).")
    var hiddenSizes: String?
    @Flag(help: "Only write the splits (for running the PyOD script first).") var splitsOnly = false
    @Flag(help: "Train nothing: print the table from the stored results.") var tableOnly = false
    @OptionGroup var method: MethodOptions
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        let given = OneClassBenchmark.singleRunOptions(in: Array(CommandLine.arguments.dropFirst()))
        if given.contains("--seed") { throw ValidationError("--seed chooses one run's seed; the benchmark runs every seed of --seeds") }
        if given.contains("--boundary") { throw ValidationError("--boundary chooses one run's boundary; the benchmark runs both") }
        _ = try seedList()
        _ = try files()
        _ = try configuration()
    }

    func seedList() throws -> [UInt64] { try parseSeeds(seeds) }

    /// The chosen `.npz` files, in ADBench's numeric order (`1_ALOI`, `2_annthyroid`, ...).
    func files() throws -> [URL] {
        let folder = URL(fileURLWithPath: data, isDirectory: true)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: data) else {
            throw ValidationError("--data \(data): no such folder (expected ADBench's .npz files)")
        }
        let available = names.filter { $0.hasSuffix(".npz") }.map { String($0.dropLast(4)) }
            .sorted { (Int($0.prefix { $0.isNumber }) ?? .max, $0) < (Int($1.prefix { $0.isNumber }) ?? .max, $1) }
        guard !available.isEmpty else { throw ValidationError("--data \(data) holds no .npz files") }
        let chosen = sets == "all" ? available : splitList(sets)
        for name in chosen where !available.contains(name) {
            throw ValidationError("--sets: no \(name).npz in \(data) (it has \(available.count): \(available.prefix(8).joined(separator: ", ")), ...)")
        }
        return chosen.map { folder.appendingPathComponent($0 + ".npz") }
    }

    func configuration() throws -> MOCCAConfiguration {
        // Each set's width is set per run; any width checks the rest.
        try method.configuration(defaultNetwork: "mlp", networkFields: mlpFields(features: 1, hiddenSizes: hiddenSizes, batchNorm: false))
    }

    func run() throws {
        try threads.apply()
        var benchmark = TableBenchmark(datasets: try files(), seeds: try seedList(), configuration: try configuration(),
                                       scaling: scaling, folder: URL(fileURLWithPath: out, isDirectory: true))
        benchmark.trainingProgress = ProgressLine().report
        if !tableOnly { try benchmark.run(splitsOnly: splitsOnly, events: { printError($0) }) }
        guard !splitsOnly else { return print("wrote the splits to \(out)/splits; run scripts/bench/pyod_adbench.py --results \(out) --data \(data)") }
        let mocca = try benchmark.store.load(), pyod = try benchmark.pyodStore.load()
        (mocca.warnings + pyod.warnings).forEach { printError("warning: \($0)") }
        let names = Set(try files().map { $0.deletingPathExtension().lastPathComponent }), chosenSeeds = Set(try seedList())
        let records = (mocca.records + pyod.records).filter { names.contains($0.dataset) && chosenSeeds.contains($0.seed) }
        let table = TableBenchmarkTable(records: records)
        let markdown = table.markdown()
        try writeAtomically(Data((markdown + "\n").utf8), to: (out as NSString).appendingPathComponent("table.md"))
        try writeAtomically(encodeJSON(table), to: (out as NSString).appendingPathComponent("table.json"))
        print(markdown)
    }
}
