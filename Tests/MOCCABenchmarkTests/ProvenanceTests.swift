import Foundation
import MOCCA
import MOCCABenchmark
import Testing

@Suite("Provenance")
struct ProvenanceTests {
    @Test("the environment names the commit when set")
    func environmentOverride() {
        let provenance = BenchmarkProvenance.current(environment: [BenchmarkProvenance.commitVariable: " 0123abc \n"])
        #expect(provenance == BenchmarkProvenance(toolVersion: MOCCAVersion.current, gitCommit: "0123abc"))
    }

    @Test("otherwise the checkout's commit, or unknown without one")
    func checkoutCommit() {
        let commit = BenchmarkProvenance.current(environment: [:]).gitCommit
        let hash = commit.hasSuffix("-dirty") ? String(commit.dropLast(6)) : commit
        #expect(commit == BenchmarkProvenance.unknownCommit || (hash.count == 40 && hash.allSatisfy(\.isHexDigit)), "\(commit)")
    }
}
