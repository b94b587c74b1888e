import Foundation
import MOCCACore
import MOCCAModels
@_exported import MOCCATestSupport
import Testing

/// The MNIST LeNet with a given code length, as a configuration names it.
func mnistNetwork(codeLength: Int) -> NetworkSpecification {
    NetworkSpecification(name: "mnist-lenet", configuration: .object(["codeLength": .number(Double(codeLength))]))
}
