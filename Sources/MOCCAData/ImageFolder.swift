import Foundation

/// Reads an image-folder data set: `ROOT/<split>/<class>/*.{jpg,jpeg,png}`.
///
/// Classes are the sub-folders of the split, in sorted order (for CIFAR-10 that is the
/// official label order), unless `classNames` fixes them. Every image must have the
/// same size, unless a size to resize them to is given.
public enum ImageFolder {
    /// The file extensions read as images, lower-case; matched case-insensitively. The one
    /// list for everything that looks for images (``ImageDecoder`` reads the contents by
    /// their signature, whatever the extension).
    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Loads one split. `keep` filters on class index before decoding, to save time.
    /// - Parameters:
    ///   - size: when given, every image is resized to it with `filter` as it is decoded.
    public static func load(root: String, split: String, channels: Int, classNames: [String]? = nil,
                            size: (height: Int, width: Int)? = nil, filter: ImageResizer.Filter = .area,
                            keep: (Int) -> Bool = { _ in true }) throws -> ImageDataset {
        let splitPath = (root as NSString).appendingPathComponent(split)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: splitPath, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.wrongLayout(path: root, expected: "a '\(split)' folder holding one sub-folder per class (ROOT/\(split)/<class>/*.jpg|png)")
        }
        let found = try subfolders(of: splitPath)
        guard !found.isEmpty else {
            throw DataError.wrongLayout(path: splitPath, expected: "one sub-folder per class, each holding images")
        }
        let classes = classNames ?? found
        var pixels: [UInt8] = [], labels: [Int] = [], sources: [String] = []
        var shape: [Int]?
        let files = try classes.enumerated().filter { keep($0.offset) && found.contains($0.element) }.flatMap { label, name in
            try imageFiles(in: (splitPath as NSString).appendingPathComponent(name)).map { (label, $0) }
        }
        labels.reserveCapacity(files.count)
        sources.reserveCapacity(files.count)
        for (label, file) in files {
            let image = try ImageDecoder.decode(path: file, channels: channels, size: size, filter: filter)
            let imageShape = [channels, image.height, image.width]
            if let shape, shape != imageShape {
                throw DataError.malformed(path: file, message: "image is \(image.width)x\(image.height), expected \(shape[2])x\(shape[1]) like the first image (give a size to resize every image to it)")
            }
            // Exactly the room for every image, rather than growing by doubling.
            if shape == nil { pixels.reserveCapacity(image.pixels.count * files.count) }
            shape = imageShape
            pixels += image.pixels
            labels.append(label)
            sources.append(file)
        }
        return try ImageDataset(imageShape: shape ?? [channels, 0, 0], pixels: pixels, labels: labels,
                            classNames: classes, sources: sources)
    }

    /// The sorted names of the sub-folders of `path` (hidden ones excluded).
    public static func subfolders(of path: String) throws -> [String] {
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw DataError.unreadable(path: path, reason: error.localizedDescription)
        }
        return entries.filter { entry in
            var isDirectory: ObjCBool = false
            return !entry.hasPrefix(".") && FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent(entry), isDirectory: &isDirectory) && isDirectory.boolValue
        }.sorted()
    }

    /// The paths of the image files directly in `folder` (by ``extensions``), sorted.
    /// - Throws: ``DataError/unreadable(path:reason:)`` when the folder cannot be listed.
    public static func imageFiles(in folder: String) throws -> [String] {
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw DataError.unreadable(path: folder, reason: error.localizedDescription)
        }
        return entries.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
            .map { (folder as NSString).appendingPathComponent($0) }
    }

    /// The image files at `path`: the file itself, or every image file below the folder,
    /// recursively, hidden files and folders skipped, sorted by relative path.
    /// - Throws: ``DataError/missing(path:expected:)`` when nothing is at `path`, and
    ///   ``DataError/unreadable(path:reason:)`` when the folder cannot be listed.
    public static func imageFiles(under path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.missing(path: path, expected: "an image file or a folder of images")
        }
        guard isDirectory.boolValue else { return [path] }
        guard let walker = FileManager.default.enumerator(atPath: path) else {
            throw DataError.unreadable(path: path, reason: "the folder cannot be listed")
        }
        return walker.compactMap { $0 as? String }
            .filter { relative in
                extensions.contains((relative as NSString).pathExtension.lowercased())
                    && !relative.split(separator: "/").contains { $0.hasPrefix(".") }
            }
            .sorted().map { (path as NSString).appendingPathComponent($0) }
    }
}
