import ArgumentParser
import Foundation
import MOCCA

/// `mocca split`: writes which files an inspection data set's seeded split puts in
/// training, validation and test, as `train --dataset mvtec|mtd|folder --seed S` cuts it.
struct Split: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the files of an inspection data set's training, validation and test parts, as train cuts them for a seed.",
        discussion: "Writes JSON: the split's name and seed, and each part's images with their defect type, mask and group (MTD: the tile photographed). Other tools can then train and test on exactly the files swift-mocca did.")

    @OptionGroup var data: DataOptions
    @Option(help: "The seed of the split (train's --seed).") var seed: UInt64 = 0
    @Option(help: "Write the JSON to this file (atomically) instead of standard output.") var out: String?

    /// What `mocca split` writes.
    struct Listing: Encodable {
        var name: String
        var seed: UInt64
        var counts: [String: Int]
        var train: [InspectionImage], validation: [InspectionImage], test: [InspectionImage]
    }

    func validate() throws {
        guard data.dataset.isInspection else {
            throw ValidationError("mocca split lists the parts of inspection data sets (mvtec, mtd, folder); --dataset \(data.dataset.rawValue) splits by class")
        }
        if let out { try checkWritable(out, option: "--out") }
    }

    func run() throws {
        let (split, _) = try inspectionSplit(data, seed: seed, requireTest: false)
        let listing = Listing(name: split.name, seed: seed,
                              counts: ["train": split.train.count, "validation": split.validation.count, "test": split.test.count],
                              train: split.train, validation: split.validation, test: split.test)
        let json = try encodeJSON(listing)
        if let out {
            try writeAtomically(json, to: out)
            FileHandle.standardError.write(Data("\(split.name), seed \(seed): \(split.train.count) training, \(split.validation.count) validation and \(split.test.count) test images, written to \(out)\n".utf8))
        } else {
            FileHandle.standardOutput.write(json + Data("\n".utf8))
        }
    }
}
