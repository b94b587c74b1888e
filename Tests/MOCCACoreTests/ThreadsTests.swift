import Foundation
import MOCCACore
import Testing

/// `Threads.parse(_:source:)`, the one check of `--threads` and `MOCCA_THREADS`.
@Suite struct ThreadsTests {
    @Test func wholeNumbersFromOneToTheMaximumAreAccepted() throws {
        #expect(try Threads.parse("1", source: "--threads") == 1)
        #expect(try Threads.parse(" 2 ", source: "--threads") == 2)
        #expect(try Threads.parse("\(Threads.maximum)", source: "--threads") == Threads.maximum)
        #expect(Threads.maximum == 4 * ProcessInfo.processInfo.activeProcessorCount)
    }

    @Test(arguments: ["0", "-3", "abc", "1.5", "", "100000"])
    func anythingElseIsRejectedNamingItsSource(_ text: String) {
        let error = #expect(throws: TensorError.self) { try Threads.parse(text, source: "MOCCA_THREADS") }
        guard case let .invalidArgument(source, message)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(source == "MOCCA_THREADS")
        #expect(message.contains(text.isEmpty || Int(text) == nil ? "is not a thread count" : "\(text)"))
    }

    /// Through the task's count: setting the process's count here would change it under
    /// tests running beside this one.
    @Test func theCountIsClampedToItsRange() {
        #expect(Threads.$taskCount.withValue(100_000) { Threads.count } == Threads.maximum)
        #expect(Threads.$taskCount.withValue(0) { Threads.count } == 1)
        #expect(Threads.$taskCount.withValue(2) { Threads.count } == min(2, Threads.maximum))
    }
}
