/// The few Python literals that a NumPy `.npy` header is written in: numpy writes the
/// header with `repr()` of a dict, and reads it with `ast.literal_eval`, so a parser of
/// those literals reads every header numpy writes, including the ones a regular
/// expression would get wrong (structured dtypes, trailing commas, spacing).
indirect enum PythonLiteral: Equatable {
    case string(String)
    case integer(Int)
    case boolean(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    /// Keys kept in order, so that a duplicate key can be told apart from a repeated one.
    case dictionary([(key: PythonLiteral, value: PythonLiteral)])

    static func == (lhs: PythonLiteral, rhs: PythonLiteral) -> Bool {
        switch (lhs, rhs) {
        case let (.string(a), .string(b)): return a == b
        case let (.integer(a), .integer(b)): return a == b
        case let (.boolean(a), .boolean(b)): return a == b
        case (.none, .none): return true
        case let (.tuple(a), .tuple(b)), let (.list(a), .list(b)): return a == b
        case let (.dictionary(a), .dictionary(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The literal in `text`, which must hold exactly one (spaces around it allowed).
    /// - Throws: ``PythonLiteralError`` saying what was found where.
    static func parse(_ text: [UInt8]) throws -> PythonLiteral {
        var parser = PythonLiteralParser(text: text)
        let value = try parser.value(depth: 0)
        parser.skipSpaces()
        guard parser.position == text.count else { throw parser.error("expected the end of the header") }
        return value
    }
}

/// Why a header is not a literal this parser reads: what it expected, and at which byte.
struct PythonLiteralError: Error {
    let message: String
}

/// A recursive-descent parser over the header's bytes.
private struct PythonLiteralParser {
    let text: [UInt8]
    var position = 0
    /// Nesting deeper than any header numpy writes: a hostile `((((…` is refused before
    /// it can exhaust the stack.
    static let maximumDepth = 32

    func error(_ expected: String) -> PythonLiteralError {
        let found = position < text.count ? "'\(String(decoding: text[position..<min(text.count, position + 10)], as: UTF8.self))'" : "the end"
        return PythonLiteralError(message: "\(expected) at byte \(position) of the header, found \(found)")
    }

    mutating func skipSpaces() {
        while position < text.count, [0x20, 0x09, 0x0A, 0x0D].contains(text[position]) { position += 1 }
    }

    mutating func value(depth: Int) throws -> PythonLiteral {
        guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
        skipSpaces()
        guard position < text.count else { throw error("expected a value") }
        switch text[position] {
        case UInt8(ascii: "{"): return try dictionary(depth: depth)
        case UInt8(ascii: "("):
            let (items, isTuple) = try sequence(closing: UInt8(ascii: ")"), depth: depth)
            // `(3)` is the number 3 in Python; `(3,)` is a tuple.
            return isTuple ? .tuple(items) : items[0]
        case UInt8(ascii: "["): return .list(try sequence(closing: UInt8(ascii: "]"), depth: depth).items)
        case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .integer(try integer())
        default:
            for (word, literal) in [("True", PythonLiteral.boolean(true)), ("False", .boolean(false)), ("None", .none)] {
                let bytes = Array(word.utf8)
                if text.count - position >= bytes.count, Array(text[position..<(position + bytes.count)]) == bytes {
                    position += bytes.count
                    return literal
                }
            }
            throw error("expected a string, number, True, False, None, tuple, list or dict")
        }
    }

    mutating func dictionary(depth: Int) throws -> PythonLiteral {
        position += 1
        var entries: [(key: PythonLiteral, value: PythonLiteral)] = []
        while true {
            skipSpaces()
            if position < text.count, text[position] == UInt8(ascii: "}") { position += 1; return .dictionary(entries) }
            let key = try value(depth: depth + 1)
            skipSpaces()
            guard position < text.count, text[position] == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
            position += 1
            entries.append((key, try value(depth: depth + 1)))
            skipSpaces()
            guard position < text.count else { throw error("expected ',' or '}'") }
            if text[position] == UInt8(ascii: ",") { position += 1 } else if text[position] != UInt8(ascii: "}") { throw error("expected ',' or '}'") }
        }
    }

    /// The items up to `closing`, and whether a comma was seen (which makes `( )` a tuple).
    mutating func sequence(closing: UInt8, depth: Int) throws -> (items: [PythonLiteral], isTuple: Bool) {
        position += 1
        var items: [PythonLiteral] = []
        var sawComma = false
        while true {
            skipSpaces()
            if position < text.count, text[position] == closing {
                position += 1
                return (items, sawComma || items.count != 1)
            }
            items.append(try value(depth: depth + 1))
            skipSpaces()
            guard position < text.count else { throw error("expected ',' or '\(Character(Unicode.Scalar(closing)))'") }
            if text[position] == UInt8(ascii: ",") {
                position += 1
                sawComma = true
            } else if text[position] != closing {
                throw error("expected ',' or '\(Character(Unicode.Scalar(closing)))'")
            }
        }
    }

    mutating func string() throws -> String {
        let quote = text[position]
        position += 1
        var bytes: [UInt8] = []
        while position < text.count {
            let byte = text[position]
            position += 1
            if byte == quote { return String(decoding: bytes, as: UTF8.self) }
            if byte == UInt8(ascii: "\\") {
                guard position < text.count else { break }
                bytes.append(text[position])
                position += 1
            } else {
                bytes.append(byte)
            }
        }
        throw error("expected the end of a string")
    }

    mutating func integer() throws -> Int {
        var negative = false
        if text[position] == UInt8(ascii: "-") || text[position] == UInt8(ascii: "+") {
            negative = text[position] == UInt8(ascii: "-")
            position += 1
        }
        let start = position
        var result = 0
        while position < text.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[position]) {
            let digit = Int(text[position] - UInt8(ascii: "0"))
            let (shifted, overflow1) = result.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { throw error("expected an integer that fits in 64 bits") }
            result = sum
            position += 1
        }
        // Python 2's long suffix, which numpy 1.x wrote in shapes on some platforms.
        if position < text.count, text[position] == UInt8(ascii: "L") { position += 1 }
        guard position > start else { throw error("expected digits") }
        return negative ? -result : result
    }
}
