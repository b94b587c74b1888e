import ArgumentParser
import Foundation
import MOCCA
import MOCCABenchmark

/// `mocca benchmark`: the benchmarks, by data set kind. `mocca benchmark cifar10 ...` runs
/// the one-class protocol (the default subcommand); `mocca benchmark adbench ...` the tables.
struct Benchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: the paper's one-class protocol on image data sets (the default), or ADBench's tables.",
        subcommands: [OneClassBenchmark.self, ADBench.self], defaultSubcommand: OneClassBenchmark.self)
}

/// `mocca benchmark [one-class]`: the paper's one-class protocol over classes, seeds and
/// boundaries, run by ``BenchmarkRunner``; this command only reads the options and prints.
struct OneClassBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "one-class",
        abstract: "Run the one-class protocol for every class, seed and boundary; print a table like the paper's Table I.",
        discussion: """
            Runs the paper's recipe (centroid tap scores, plain mean) unless --recipe or the \
            method options say otherwise.

            Every seed of --seeds and every boundary of --boundaries is run, so the \
            single-run options --seed and --boundary (shared with `mocca train`) are refused \
            here rather than ignored.

            Resumable: each finished (class, seed, boundary) is appended to \
            OUT/results.jsonl, with the tool version and git commit, and skipped on a re-run \
            with the same options; a torn last line (a write cut short) is dropped with a \
            warning. Both boundaries of a (class, seed) share one pretrained autoencoder, \
            kept in OUT/pretrained/ under a hash of every phase-1 option and of the data \
            set's identity, and reused by any later run with the same hash. The table \
            (mean ± std AUROC over seeds) is written to OUT/table.md and OUT/table.json.
            """)

    @Argument(help: "The data set: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var dataset: DatasetKind
    @Option(help: "The data set's folder.") var data: String
    @Option(help: "Comma-separated classes (names or indices), or 'all'.") var classes = "all"
    @Option(help: "Comma-separated seeds (replaces --seed).") var seeds = "0,1"
    @Option(help: "Comma-separated boundaries: hard, soft (replaces --boundary).") var boundaries = "hard,soft"
    @Option(help: "The results folder.") var out: String
    @Option(help: "Channels to decode image-folder images to.") var channels = 3
    @Flag(help: "Train nothing: only rebuild the table from the stored results.") var tableOnly = false
    @OptionGroup var method: MethodOptions
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard dataset != .table else {
            throw ValidationError("benchmark runs the one-class protocol of classification data sets; for tables use `mocca benchmark adbench`")
        }
        guard !dataset.isInspection else {
            throw ValidationError("benchmark runs the one-class protocol of classification data sets; for \(dataset.rawValue) use `mocca inspection-benchmark`")
        }
        guard channels == 1 || channels == 3 else { throw ValidationError("--channels must be 1 or 3, got \(channels)") }
        // Refused rather than ignored: a benchmark with `--seed 7` that silently ran seeds 0
        // and 1 would report a table of runs nobody asked for.
        let given = Self.singleRunOptions(in: Array(CommandLine.arguments.dropFirst()))
        if given.contains("--seed") || method.seed != 0 {
            throw ValidationError("--seed chooses the seed of a single run; a benchmark runs every seed of --seeds: use --seeds \(method.seed)")
        }
        if given.contains("--boundary") || method.boundary != .hard {
            throw ValidationError("--boundary chooses the boundary of a single run; a benchmark runs every boundary of --boundaries: use --boundaries \(method.boundary.rawValue)")
        }
        guard !splitList(classes).isEmpty else { throw ValidationError("--classes is empty: name at least one class, or 'all'") }
        _ = try seedList()
        _ = try boundaryList()
    }

    /// The single-run options among `arguments` (before a `--` terminator), as given:
    /// their defaults are values too, so only the command line tells whether they were set.
    static func singleRunOptions(in arguments: [String]) -> Set<String> {
        var found: Set<String> = []
        for argument in arguments.prefix(while: { $0 != "--" }) {
            for name in ["--seed", "--boundary"] where argument == name || argument.hasPrefix(name + "=") { found.insert(name) }
        }
        return found
    }

    /// The seeds of `--seeds`, checked.
    func seedList() throws -> [UInt64] { try parseSeeds(seeds) }

    /// The boundaries of `--boundaries`, checked.
    func boundaryList() throws -> [MOCCAConfiguration.Boundary] {
        let items = splitList(boundaries)
        guard !items.isEmpty else { throw ValidationError("--boundaries is empty: name hard, soft or both") }
        return try items.map { name in
            guard let boundary = MOCCAConfiguration.Boundary(rawValue: name) else {
                throw ValidationError("--boundaries: unknown boundary '\(name)' (hard, soft)")
            }
            return boundary
        }
    }

    func run() throws {
        try threads.apply()
        let configuration = try method.configuration(defaultNetwork: dataset.defaultNetwork, defaultRecipe: .paper)
        let folder = BenchmarkFolder(url: URL(fileURLWithPath: out, isDirectory: true))
        // Only the built-in data sets can name their classes without being read.
        let data = tableOnly && dataset.classNames != nil ? nil : try BenchmarkData(loading: dataset, path: self.data, channels: channels)
        let classNames = data?.classNames ?? dataset.classNames ?? []
        let plan = try BenchmarkPlan(classes: BenchmarkPlan.classes(splitList(classes), among: classNames),
                                     seeds: seedList(), boundaries: boundaryList())

        let table: BenchmarkTable
        if let data, !tableOnly {
            var runner = BenchmarkRunner(data: data, plan: plan, configuration: configuration, folder: folder)
            let progress = ProgressLine()
            runner.trainingProgress = progress.report
            printError("\(plan.classes.count) classes × \(plan.seeds.count) seeds × \(plan.boundaries.count) boundaries; records carry mocca \(runner.provenance.toolVersion) at commit \(runner.provenance.gitCommit)")
            table = try runner.run(events: Self.report)
        } else {
            let contents = try folder.results.load()
            contents.warnings.forEach { printError("warning: \($0)") }
            table = BenchmarkTable(selecting: contents.records, plan: plan, dataset: dataset.rawValue, configuration: configuration)
            try folder.create()
            try folder.write(table)
        }
        print(table.markdown())
    }

    /// Progress and warnings on standard error, each finished run on standard output.
    static func report(_ event: BenchmarkEvent) {
        switch event {
        case .warning(let message): printError("warning: \(message)")
        case .alreadyDone(let runs): printError("\(runs.count) runs already in the results, skipped")
        case let .pretraining(normalClass, seed, key): printError("\(normalClass) seed \(seed): pretraining the autoencoder (key \(key))")
        case let .reusingPretrained(normalClass, seed, weights): printError("\(normalClass) seed \(seed): reusing the pretrained autoencoder \(weights.path)")
        case .finished(let record):
            let channels = record.configuration.taps + (record.configuration.reconstructionChannel ? ["reconstruction"] : [])
            let perChannel = channels.compactMap { name in record.perChannelAUROC[name].map { String(format: "%@ %.4f", name, $0) } }
            print(String(format: "%@ seed %llu %@: AUROC %.4f (%@)", record.normalClass, record.seed, record.boundary,
                               record.auroc, perChannel.joined(separator: ", ")))
        }
    }
}
