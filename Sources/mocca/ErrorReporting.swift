import ArgumentParser
import Foundation

extension Mocca {
    /// Parses and runs a subcommand like argument-parser's own `main()`, except for a
    /// `ValidationError` thrown from a subcommand's `run()`: argument-parser reports that
    /// one against the root command (`Usage: mocca <subcommand>`), because only errors
    /// from parsing and `validate()` carry the subcommand. Here it gets the subcommand's
    /// usage, as an error from its `validate()` does.
    static func main() {
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
