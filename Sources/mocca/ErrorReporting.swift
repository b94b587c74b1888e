import ArgumentParser
import Foundation
import MOCCACore

extension Mocca {
    /// Parses and runs a subcommand like argument-parser's own `main()`, except for a
    /// `ValidationError` thrown from a subcommand's `run()`: argument-parser reports that
    /// one against the root command (`Usage: mocca <subcommand>`), because only errors
    /// from parsing and `validate()` carry the subcommand. Here it gets the subcommand's
    /// usage, as an error from its `validate()` does.
    static func main() {
        useFastOpenBLASKernels()
        var command: ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        do {
            try command.run()
        } catch let error as ValidationError {
            let subcommand = type(of: command)
            guard configuration.subcommands.contains(where: { $0 == subcommand }) else { exit(withError: error) }
            let name = "\(configuration.commandName ?? "mocca") \(subcommand._commandName)"
            printError("Error: \(error.message)\nUsage: \(usageString(for: subcommand))\n  See '\(name) --help' for more information.")
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}

/// Starts the tool again with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to generic
/// SSE kernels on a CPU with AVX2 or AVX-512 (see `OpenBLASCore`): the choice is made when
/// the library loads, so only a new process can correct it. Nothing happens when the
/// variable is set already, so it runs at most once.
private func useFastOpenBLASKernels() {
    guard let core = OpenBLASCore.preferred else { return }
    setenv("OPENBLAS_CORETYPE", core, 1)
    let arguments = CommandLine.unsafeArgv
    execv("/proc/self/exe", arguments)
    // execv returns only on failure: carry on with the slower kernels.
}
