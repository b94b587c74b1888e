import MOCCATestSupport
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

    /// The recursive walk that `mocca score` uses: below a folder, hidden entries skipped.
    @Test func imageFilesUnderAFolderAreFoundRecursivelySkippingHiddenOnes() throws {
        let folder = try makeTemporaryDirectory("walk")
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["z.png", "sub/b.jpg", "sub/deeper/a.PNG", ".hidden/x.png", "sub/.y.png", "sub/notes.txt"] {
            try writeBytes([0], to: folder.appendingPathComponent(name))
        }
        let found = try ImageFolder.imageFiles(under: folder.path).map { String($0.dropFirst(folder.path.count + 1)) }
        #expect(found == ["sub/b.jpg", "sub/deeper/a.PNG", "z.png"])
        let file = folder.appendingPathComponent("z.png").path
        #expect(try ImageFolder.imageFiles(under: file) == [file])
        let missing = #expect(throws: DataError.self) { _ = try ImageFolder.imageFiles(under: folder.appendingPathComponent("nope").path) }
        guard case .missing? = missing else { Issue.record("got \(String(describing: missing))"); return }
    }
}
