/// What a CSV cell holds, parsed from its bytes without building a `String` in the common
/// case: a million-row file has ten million cells.
enum CSVCell: Equatable {
    case number(Float)
    /// Empty, "NA" or "nan" (any case): a missing value.
    case missing
    /// "inf", "-infinity", or a number beyond Float's range.
    case infinite
    case notANumber

    private static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")

    /// The bytes with surrounding spaces and tabs removed.
    static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var lower = bytes.startIndex, upper = bytes.endIndex
        while lower < upper, bytes[lower] == space || bytes[lower] == tab { lower += 1 }
        while upper > lower, bytes[upper - 1] == space || bytes[upper - 1] == tab { upper -= 1 }
        return bytes[lower..<upper]
    }

    /// The cell in `raw`, surrounding spaces allowed.
    init(_ raw: ArraySlice<UInt8>) {
        let bytes = Self.trimmed(raw)
        if bytes.isEmpty {
            self = .missing
            return
        }
        if let value = Self.fastFloat(bytes) {
            self = .number(value)
            return
        }
        if Self.isMissingWord(bytes) {
            self = .missing
            return
        }
        // Everything else Swift's parser accepts: hexadecimal, "inf", long mantissas.
        guard let value = Float(String(decoding: bytes, as: UTF8.self)) else {
            self = .notANumber
            return
        }
        self = value.isNaN ? .missing : value.isFinite ? .number(value) : .infinite
    }

    /// "NA" or "nan" in any case.
    private static func isMissingWord(_ bytes: ArraySlice<UInt8>) -> Bool {
        let lowered = bytes.map { $0 | 0x20 }
        return lowered == Array("na".utf8) || lowered == Array("nan".utf8)
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        (0..<exponent).reduce(1.0) { value, _ in value * 10 }
    }

    /// Plain decimals (`-12.5e-3`) of at most 19 significant digits whose value is exactly
    /// a double quotient or product of two exact doubles (Clinger's fast path), rounded to
    /// Float as `Float(String)` would: the double is the correctly rounded value, so a
    /// second rounding to Float can only go wrong when the double lies exactly half-way
    /// between two floats, and then this returns nil for the exact parser to decide.
    static func fastFloat(_ bytes: ArraySlice<UInt8>) -> Float? {
        var i = bytes.startIndex
        let end = bytes.endIndex
        var negative = false
        if bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var mantissa: UInt64 = 0, digits = 0, exponent = 0, sawDigit = false
        while i < end, bytes[i] &- UInt8(ascii: "0") < 10 {
            mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- UInt8(ascii: "0"))
            if mantissa != 0 { digits += 1 }
            sawDigit = true
            i += 1
        }
        if i < end, bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < end, bytes[i] &- UInt8(ascii: "0") < 10 {
                mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- UInt8(ascii: "0"))
                if mantissa != 0 { digits += 1 }
                exponent -= 1
                sawDigit = true
                i += 1
            }
        }
        guard sawDigit, digits <= 19 else { return nil }
        if i < end, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var exponentNegative = false
            if i < end, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                exponentNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            var written = 0, sawExponentDigit = false
            while i < end, bytes[i] &- UInt8(ascii: "0") < 10 {
                guard written < 1000 else { return nil }
                written = written * 10 + Int(bytes[i] &- UInt8(ascii: "0"))
                sawExponentDigit = true
                i += 1
            }
            guard sawExponentDigit else { return nil }
            exponent += exponentNegative ? -written : written
        }
        guard i == end, mantissa <= 1 << 53, abs(exponent) <= 22 else { return nil }
        var value = Double(mantissa)
        value = exponent < 0 ? value / powersOfTen[-exponent] : value * powersOfTen[exponent]
        // The product can exceed 2^53 * 10^22 ≈ 9e37, still below Float's maximum.
        let single = Float(value)
        // Half-way between two floats: the low 29 of the double's 52 fraction bits are 1000…0.
        if Double(single) != value, value.significandBitPattern & 0x1FFF_FFFF == 0x1000_0000 { return nil }
        return negative ? -single : single
    }
}
