import Foundation
import MOCCAData
import Testing

@Suite("Image folder listing")
struct ImageFolderListingTests {
    /// The one list of image extensions, and the files it finds.
    @Test func imageFilesAreFoundByThePublicExtensionList() throws {
        let folder = try makeTemporaryDirectory("extensions")
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["b.JPG", "a.png", "c.jpeg", "notes.txt", "d.gif"] {
            try writeBytes([0], to: folder.appendingPathComponent(name))
        }
        #expect(ImageFolder.extensions == ["jpg", "jpeg", "png"])
        let found = try ImageFolder.imageFiles(in: folder.path).map { ($0 as NSString).lastPathComponent }
        #expect(found == ["a.png", "b.JPG", "c.jpeg"])
    }
}
