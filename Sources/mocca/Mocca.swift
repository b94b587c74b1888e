import ArgumentParser

/// The `mocca` command-line tool.
@main
struct Mocca: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mocca",
        abstract: "Multi-layer one-class classification (MOCCA) for anomaly detection.",
        subcommands: [Demo.self, Train.self, Score.self, Evaluate.self, Report.self, Calibrate.self, Split.self, Benchmark.self, InspectionBenchmark.self, Speed.self])
}
