import Foundation
import MOCCACore
import MOCCANN

/// The configuration of one registered network: everything needed to build it again.
///
/// Each network has its own: a LeNet knows its code length, a residual autoencoder its
/// widths, a video model its clip length. It is stored, as JSON, in every detector's
/// manifest (see ``NetworkSpecification``).
public protocol NetworkConfiguration: Codable, Sendable, Equatable {
    /// The name the network is registered under (`cifar10-lenet`, ...).
    static var networkName: String { get }
    /// One line on what the network is for, for `--help` and errors.
    static var summary: String { get }
    /// The network's defaults.
    init()
    /// The shape of one sample, without the batch axis.
    var inputShape: [Int] { get }
    /// The taps the network offers, shallow to deep.
    var tapNames: [String] { get }
    /// The length of the code, which every autoencoder has.
    var codeLength: Int { get set }
    /// Throws ``NetworkError/invalidConfiguration(network:message:)`` naming the first bad field.
    func validate() throws
    /// A network with this configuration, its weights drawn from `generator`.
    func makeNetwork(generator: inout RandomGenerator) throws -> TappedNetwork
}

/// A network by name, with its own configuration as JSON: what a detector's manifest stores.
public struct NetworkSpecification: Codable, Sendable, Hashable {
    /// The registered name.
    public var name: String
    /// The network's configuration, as its ``NetworkConfiguration`` type encodes it.
    public var configuration: JSONValue

    /// The specification of a configured network.
    public init<C: NetworkConfiguration>(_ configuration: C) throws {
        name = C.networkName
        self.configuration = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(configuration))
    }

    /// A specification from its parts; nothing is checked until it is resolved.
    public init(name: String, configuration: JSONValue) {
        self.name = name
        self.configuration = configuration
    }

    /// The registered network this names, with its decoded configuration.
    /// - Throws: ``NetworkError`` for an unregistered name or a configuration that does not decode or validate.
    public func resolved() throws -> ResolvedNetwork { try NetworkRegistry.resolve(self) }
}

/// A specification checked against the registry: its taps, input shape and code length,
/// and a way to build the network.
public struct ResolvedNetwork: Sendable {
    /// The specification, normalised (every field of the configuration present).
    public let specification: NetworkSpecification
    /// The shape of one sample.
    public let inputShape: [Int]
    /// The taps, shallow to deep.
    public let tapNames: [String]
    /// The code length.
    public let codeLength: Int
    let build: @Sendable (inout RandomGenerator) throws -> TappedNetwork

    /// A network with freshly drawn weights.
    public func makeNetwork(generator: inout RandomGenerator) throws -> TappedNetwork { try build(&generator) }
}

/// An error naming a network or its configuration.
public enum NetworkError: Error, Equatable, CustomStringConvertible {
    /// No network is registered under this name.
    case unknownNetwork(String, available: [String])
    /// A configuration that does not decode, or a field out of range.
    case invalidConfiguration(network: String, message: String)

    /// A readable description.
    public var description: String {
        switch self {
        case let .unknownNetwork(name, available):
            return "unknown network '\(name)'; registered: \(available.joined(separator: ", "))"
        case let .invalidConfiguration(network, message):
            return "network \(network): \(message)"
        }
    }
}

/// The networks a detector can use, by name.
///
/// The built-in networks are registered from the start; a package that adds one calls
/// ``register(_:)`` once, and detectors then build, save and load it like the others.
public enum NetworkRegistry {
    struct Entry: Sendable {
        let summary: String
        let resolve: @Sendable (NetworkSpecification) throws -> ResolvedNetwork
        let defaults: @Sendable () throws -> NetworkSpecification
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var entries: [String: Entry] = builtIn

    private static var builtIn: [String: Entry] {
        var entries: [String: Entry] = [:]
        for type in [CIFAR10LeNetConfiguration.self, MNISTLeNetConfiguration.self, MLPAutoencoderConfiguration.self,
                     ResidualInspectionConfiguration.self, VideoAutoencoderConfiguration.self] as [any NetworkConfiguration.Type] {
            entries[type.networkName] = entry(for: type)
        }
        return entries
    }

    /// Makes a network buildable by name; a later registration under the same name replaces the earlier one.
    public static func register<C: NetworkConfiguration>(_ type: C.Type) {
        lock.withLock { entries[C.networkName] = entry(for: type) }
    }

    /// The registered names, sorted, with their summaries.
    public static var available: [(name: String, summary: String)] {
        lock.withLock { entries.map { ($0.key, $0.value.summary) }.sorted { $0.name < $1.name } }
    }

    /// The specification of a network's defaults.
    /// - Throws: ``NetworkError/unknownNetwork(_:available:)``.
    public static func defaults(for name: String) throws -> NetworkSpecification {
        try entry(named: name).defaults()
    }

    /// Checks a specification and prepares its network.
    public static func resolve(_ specification: NetworkSpecification) throws -> ResolvedNetwork {
        try entry(named: specification.name).resolve(specification)
    }

    private static func entry(named name: String) throws -> Entry {
        try lock.withLock {
            guard let entry = entries[name] else { throw NetworkError.unknownNetwork(name, available: entries.keys.sorted()) }
            return entry
        }
    }

    private static func entry<C: NetworkConfiguration>(for type: C.Type) -> Entry {
        Entry(summary: C.summary, resolve: { specification in
            let configuration: C
            do {
                configuration = try JSONDecoder().decode(C.self, from: JSONEncoder().encode(specification.configuration))
            } catch {
                throw NetworkError.invalidConfiguration(network: C.networkName, message: "the configuration does not decode: \(error)")
            }
            try configuration.validate()
            return ResolvedNetwork(specification: try NetworkSpecification(configuration), inputShape: configuration.inputShape,
                                   tapNames: configuration.tapNames, codeLength: configuration.codeLength,
                                   build: { try configuration.makeNetwork(generator: &$0) })
        }, defaults: { try NetworkSpecification(C()) })
    }
}
