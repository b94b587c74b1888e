import Foundation
import MOCCACore

/// Reads and writes the safetensors format: an 8-byte little-endian header length, a
/// JSON header mapping names to `{dtype, shape, data_offsets}` (plus an optional
/// `__metadata__` map of strings), then the raw little-endian tensor data.
///
/// Files are written the way Python's `safetensors` writes them (tensors sorted by
/// name, metadata keys sorted, the header padded with spaces to a multiple of 8), so
/// files round-trip byte for byte between the two.
public enum SafeTensors {
    /// The tensors of a file and its metadata.
    public struct Contents {
        /// The tensors, by name.
        public var tensors: [String: Tensor]
        /// The `__metadata__` map of strings.
        public var metadata: [String: String]

        /// Contents with the given tensors and metadata.
        public init(tensors: [String: Tensor], metadata: [String: String] = [:]) {
            self.tensors = tensors
            self.metadata = metadata
        }
    }

    /// Element types read (converted to float32); only F32 is written.
    static let elementSizes: [String: Int] = ["F32": 4, "F64": 8, "F16": 2, "BF16": 2]

    /// Reads a safetensors file.
    /// - Throws: ``SafeTensorsError`` naming the file and what is wrong with it.
    public static func read(from url: URL) throws -> Contents {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SafeTensorsError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        do { return try decode(data) } catch {
            throw SafeTensorsError.malformed(path: url.path, problem: error)
        }
    }

    /// Decodes safetensors bytes.
    public static func decode(_ data: Data) throws(SafeTensorsError.Problem) -> Contents {
        guard data.count >= 8 else { throw .truncated("the file has \(data.count) bytes, fewer than the 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw .truncated("the header claims \(headerLength) bytes but only \(data.count - 8) follow")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let json = try? JSONSerialization.jsonObject(with: headerData), let header = json as? [String: Any] else {
            throw .badHeader("the header is not a JSON object")
        }
        let body = data.subdata(in: (8 + Int(headerLength))..<data.count)
        var contents = Contents(tensors: [:])
        var ranges: [(Int, Int, String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let metadata = value as? [String: String] else { throw .badHeader("__metadata__ must map strings to strings") }
                contents.metadata = metadata
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw .badHeader("the entry for '\(name)' lacks dtype, shape or data_offsets") }
            guard let size = elementSizes[dtype] else { throw .unsupportedType(name: name, dtype: dtype) }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw .badHeader("'\(name)' has a negative dimension in \(shape)") }
            var count = 1
            for dimension in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                guard !overflow, product <= body.count else { throw .badHeader("'\(name)': shape \(shape) does not fit in the file") }
                count = product
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end >= begin, end - begin == count * size else {
                throw .badHeader("'\(name)': offsets \(offsets) do not hold \(count) \(dtype) values")
            }
            guard end <= body.count else {
                throw .truncated("'\(name)' ends at byte \(end) of the data, which has only \(body.count)")
            }
            ranges.append((begin, end, name))
            contents.tensors[name] = try? Tensor(shape: shape, scalars: convert(body[(body.startIndex + begin)..<(body.startIndex + end)], dtype: dtype))
        }
        // The format requires the data to be covered exactly, without gaps or overlaps.
        var position = 0
        for (begin, end, name) in ranges.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
            guard begin == position else { throw .badHeader("'\(name)' starts at \(begin), expected \(position) (gap or overlap)") }
            position = end
        }
        guard position == body.count else { throw .badHeader("\(body.count - position) bytes of data belong to no tensor") }
        return contents
    }

    private static func convert(_ bytes: Data, dtype: String) -> [Float] {
        bytes.withUnsafeBytes { raw -> [Float] in
            switch dtype {
            case "F64": return stride(from: 0, to: raw.count, by: 8).map { Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: $0, as: UInt64.self).littleEndian)) }
            case "F16":
                #if arch(x86_64) || arch(arm64)
                return stride(from: 0, to: raw.count, by: 2).map { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0, as: UInt16.self).littleEndian)) }
                #else
                return []
                #endif
            case "BF16": return stride(from: 0, to: raw.count, by: 2).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0, as: UInt16.self).littleEndian) << 16) }
            default: return stride(from: 0, to: raw.count, by: 4).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0, as: UInt32.self).littleEndian) }
            }
        }
    }

    /// Encodes tensors (as F32) and metadata in the canonical layout.
    public static func encode(_ contents: Contents) throws -> Data {
        let names = contents.tensors.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var entries: [String] = []
        if !contents.metadata.isEmpty {
            let pairs = contents.metadata.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
                .map { "\(jsonString($0)):\(jsonString(contents.metadata[$0] ?? ""))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var body = Data()
        for name in names {
            guard let tensor = contents.tensors[name] else { continue }
            let begin = body.count
            let values = try tensor.plain()
            values.withUnsafeBufferPointer { buffer in
                for value in buffer { withUnsafeBytes(of: value.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            }
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(begin),\(body.count)]}")
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while (header.count + 8) % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var data = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        data.append(body)
        return data
    }

    /// Writes a file atomically: a reader never sees a half-written file, and an
    /// existing file is replaced only once the new one is complete.
    public static func write(_ contents: Contents, to url: URL) throws {
        let data = try encode(contents)
        do { try AtomicFile.write(data, to: url) } catch {
            throw SafeTensorsError.unwritable(path: url.path, reason: error.localizedDescription)
        }
    }

    private static func jsonString(_ value: String) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

/// An error reading or writing a safetensors file.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// What is wrong with the bytes of a file.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        /// The file ends before the header or a tensor's data does.
        case truncated(String)
        /// The JSON header is malformed or inconsistent with the data.
        case badHeader(String)
        /// A tensor has a data type this reader does not convert.
        case unsupportedType(name: String, dtype: String)

        /// A readable description of the problem.
        public var description: String {
            switch self {
            case .truncated(let message): return "truncated: \(message)"
            case .badHeader(let message): return "malformed header: \(message)"
            case let .unsupportedType(name, dtype): return "tensor '\(name)' has dtype \(dtype); F32, F64, F16 and BF16 are supported"
            }
        }
    }

    /// The file cannot be read.
    case unreadable(path: String, reason: String)
    /// The file cannot be written.
    case unwritable(path: String, reason: String)
    /// The file's bytes are not a valid safetensors file.
    case malformed(path: String, problem: Problem)

    /// A readable description of the error.
    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read safetensors file \(path): \(reason)"
        case let .unwritable(path, reason): return "cannot write safetensors file \(path): \(reason)"
        case let .malformed(path, problem): return "\(path) is not a valid safetensors file: \(problem)"
        }
    }
}

extension Module {
    /// Saves parameters and buffers to a safetensors file (atomically).
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try SafeTensors.write(.init(tensors: stateDictionary(), metadata: metadata), to: url)
    }

    /// Loads parameters and buffers from a safetensors file written by ``save(to:metadata:)``
    /// or by PyTorch (`safetensors.torch.save_file(model.state_dict(), ...)`).
    public func load(from url: URL, strict: Bool = true) throws {
        try load(SafeTensors.read(from: url).tensors, strict: strict)
    }
}
