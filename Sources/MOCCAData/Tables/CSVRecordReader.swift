import Foundation

/// Splits a CSV file into records of fields, reading it a chunk at a time: RFC 4180
/// quoting (delimiters, quotes and newlines inside quoted fields), LF or CRLF line ends,
/// a UTF-8 byte-order mark skipped, blank lines skipped (as pandas does).
///
/// The parser is a state machine over bytes whose state survives a chunk boundary, so a
/// record may straddle chunks and memory stays bounded by the chunk and one record.
struct CSVRecordReader {
    /// A record longer than this is refused: a file with no line ends (or an unclosed
    /// quote) must not be read whole into memory.
    static let maximumRecordBytes = 64 << 20
    static let defaultChunkSize = 1 << 20

    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted }

    let path: String
    private let handle: FileHandle
    private let delimiter: UInt8
    private let chunkSize: Int
    private var buffer: [UInt8] = []
    private var position = 0
    private var isAtEnd = false
    private var isFirstChunk = true
    private var nextLine = 1

    /// The current record's fields, their bytes one after another (quotes removed).
    private(set) var bytes: [UInt8] = []
    /// Where each field of the current record ends in `bytes`.
    private(set) var fieldEnds: [Int] = []
    /// The line of the file on which the current record starts (1-based).
    private(set) var line = 0

    /// Opens `url` for reading.
    /// - Throws: ``DataError/missing(path:expected:)`` when there is no such file,
    ///   ``DataError/unreadable(path:reason:)`` when it cannot be opened.
    init(url: URL, delimiter: UInt8, chunkSize: Int = defaultChunkSize) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw DataError.missing(path: url.path, expected: "a CSV file")
        }
        guard !isDirectory.boolValue else { throw DataError.unreadable(path: url.path, reason: "a folder, not a file") }
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw DataError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        path = url.path
        self.delimiter = delimiter
        self.chunkSize = max(1, chunkSize)
    }

    var fieldCount: Int { fieldEnds.count }

    /// The bytes of field `index` of the current record.
    func field(_ index: Int) -> ArraySlice<UInt8> {
        bytes[(index == 0 ? 0 : fieldEnds[index - 1])..<fieldEnds[index]]
    }

    /// Reads the next chunk into `buffer`; false at the end of the file.
    private mutating func refill() throws -> Bool {
        guard !isAtEnd, let data = try read() else { return false }
        buffer = [UInt8](data)
        position = 0
        if isFirstChunk {
            isFirstChunk = false
            // The byte-order mark is looked for in the first 3 bytes, however small the chunks.
            while buffer.count < 3, let more = try read() { buffer += more }
            if buffer.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
        }
        return true
    }

    /// The next chunk of the file; nil at its end.
    private mutating func read() throws -> Data? {
        let data: Data?
        do {
            data = try handle.read(upToCount: chunkSize)
        } catch {
            throw DataError.unreadable(path: path, reason: error.localizedDescription)
        }
        guard let data, !data.isEmpty else {
            isAtEnd = true
            return nil
        }
        return data
    }

    /// Reads the next record into ``bytes`` and ``fieldEnds``; false at the end of the file.
    /// - Throws: ``DataError/malformed(path:message:)`` for a quoted field still open at the
    ///   end of the file, or a record longer than ``maximumRecordBytes``.
    mutating func next() throws -> Bool {
        bytes.removeAll(keepingCapacity: true)
        fieldEnds.removeAll(keepingCapacity: true)
        var state = State.fieldStart
        line = nextLine
        let quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r"), delimiter = self.delimiter
        while true {
            if position >= buffer.count {
                guard try refill() else {
                    switch state {
                    case .quoted:
                        throw DataError.malformed(path: path, message: "a quoted field opened on line \(line) is never closed")
                    case .fieldStart where fieldEnds.isEmpty:
                        return false
                    default:
                        fieldEnds.append(bytes.count)
                        return true
                    }
                }
            }
            let chunk = buffer
            let (finished, end, newState) = chunk.withUnsafeBufferPointer { p -> (Bool, Int, State) in
                let n = p.count
                var i = position, state = state
                while i < n {
                    switch state {
                    case .fieldStart:
                        let byte = p[i]
                        if byte == quote {
                            state = .quoted
                            i += 1
                        } else if byte == cr {
                            i += 1
                        } else if byte == lf && fieldEnds.isEmpty {
                            // A blank line: skipped, and the record starts on the next one.
                            nextLine += 1
                            line = nextLine
                            i += 1
                        } else {
                            state = .unquoted
                        }
                    case .unquoted:
                        var j = i
                        while j < n {
                            let byte = p[j]
                            if byte == delimiter || byte == lf || byte == cr { break }
                            j += 1
                        }
                        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: p[i..<j]))
                        i = j
                        guard j < n else { break }
                        let byte = p[j]
                        i += 1
                        if byte == delimiter {
                            fieldEnds.append(bytes.count)
                            state = .fieldStart
                        } else if byte == lf {
                            fieldEnds.append(bytes.count)
                            nextLine += 1
                            return (true, i, state)
                        }
                    case .quoted:
                        var j = i
                        while j < n, p[j] != quote {
                            if p[j] == lf { nextLine += 1 }
                            j += 1
                        }
                        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: p[i..<j]))
                        i = j
                        if j < n {
                            state = .quoteInQuoted
                            i += 1
                        }
                    case .quoteInQuoted:
                        let byte = p[i]
                        if byte == quote {
                            bytes.append(quote)
                            state = .quoted
                            i += 1
                        } else if byte == delimiter {
                            fieldEnds.append(bytes.count)
                            state = .fieldStart
                            i += 1
                        } else if byte == lf {
                            fieldEnds.append(bytes.count)
                            nextLine += 1
                            return (true, i + 1, state)
                        } else if byte == cr {
                            i += 1
                        } else {
                            // Text after a closing quote joins the field, as Python's csv does.
                            state = .unquoted
                        }
                    }
                }
                return (false, i, state)
            }
            position = end
            state = newState
            guard bytes.count <= Self.maximumRecordBytes else {
                throw DataError.malformed(path: path, message: "the record starting on line \(line) is longer than \(Self.maximumRecordBytes >> 20) MiB (no line ends, or an unclosed quote)")
            }
            if finished { return true }
        }
    }
}
