import Foundation

/// The element types of `.npy` files that hold numbers: floats, signed and unsigned
/// integers and booleans, of either byte order. Other dtypes (objects, strings, complex
/// numbers, records) are refused by name, since they cannot become features.
struct NumPyDType: Equatable {
    enum Kind: Equatable { case float, signedInteger, unsignedInteger, boolean }

    let kind: Kind
    /// Bytes per element.
    let size: Int
    let isBigEndian: Bool

    /// The dtype of a descr string such as `<f4`, `>i8` or `|b1`.
    /// - Throws: ``DataError/unsupported(path:message:)`` naming `descr` for a dtype that
    ///   numpy writes but that holds no plain numbers; ``DataError/malformed(path:message:)``
    ///   for a string that is no dtype at all.
    init(descr: String, path: String) throws {
        var characters = Substring(descr)
        var bigEndian = false
        if let first = characters.first, "<>|=".contains(first) {
            bigEndian = first == ">"
            characters = characters.dropFirst()
        }
        guard let code = characters.first else {
            throw DataError.malformed(path: path, message: "expected a dtype such as '<f4' in the header's 'descr', found '\(descr)'")
        }
        let digits = characters.dropFirst()
        let size = digits.isEmpty ? nil : Int(digits)
        func unsupported(_ what: String) -> DataError {
            DataError.unsupported(path: path, message: "dtype '\(descr)' (\(what)); expected floats, integers or booleans such as '<f4', '<f8', '<i8', '|u1' or '|b1'")
        }
        let kind: Kind
        switch code {
        case "f": kind = .float
        case "i": kind = .signedInteger
        case "u": kind = .unsignedInteger
        case "b", "?": kind = .boolean
        case "c": throw unsupported("complex numbers")
        case "O": throw unsupported("Python objects")
        case "V": throw unsupported("raw or structured records")
        case "S", "a", "U": throw unsupported("strings")
        case "M", "m": throw unsupported("dates or time spans")
        default:
            throw DataError.malformed(path: path, message: "expected a dtype such as '<f4' in the header's 'descr', found '\(descr)'")
        }
        let allowed: [Int] = switch kind {
        case .float: [2, 4, 8]
        case .signedInteger, .unsignedInteger: [1, 2, 4, 8]
        case .boolean: [1]
        }
        guard let size = size ?? (kind == .boolean ? 1 : nil), allowed.contains(size) else {
            throw unsupported(kind == .float ? "a float of a size other than 2, 4 or 8 bytes" : "an element size other than \(allowed.map(String.init).joined(separator: ", ")) bytes")
        }
        self.kind = kind
        self.size = size
        self.isBigEndian = bigEndian
    }

    /// The `count` elements at the start of `bytes` (which holds at least `count * size`
    /// bytes), as doubles. Integers beyond 2^53 are rounded, as numpy's `astype(float)` does.
    func decode(_ bytes: UnsafeRawBufferPointer, count: Int) -> [Double] {
        [Double](unsafeUninitializedCapacity: count) { output, initialized in
            switch (kind, size) {
            case (.float, 2): for i in 0..<count { output[i] = Double(Self.half(load(UInt16.self, bytes, i))) }
            case (.float, 4): for i in 0..<count { output[i] = Double(Float(bitPattern: load(UInt32.self, bytes, i))) }
            case (.float, _): for i in 0..<count { output[i] = Double(bitPattern: load(UInt64.self, bytes, i)) }
            case (.signedInteger, 1): for i in 0..<count { output[i] = Double(Int8(bitPattern: bytes[i])) }
            case (.signedInteger, 2): for i in 0..<count { output[i] = Double(Int16(bitPattern: load(UInt16.self, bytes, i))) }
            case (.signedInteger, 4): for i in 0..<count { output[i] = Double(Int32(bitPattern: load(UInt32.self, bytes, i))) }
            case (.signedInteger, _): for i in 0..<count { output[i] = Double(Int64(bitPattern: load(UInt64.self, bytes, i))) }
            case (.unsignedInteger, 1): for i in 0..<count { output[i] = Double(bytes[i]) }
            case (.unsignedInteger, 2): for i in 0..<count { output[i] = Double(load(UInt16.self, bytes, i)) }
            case (.unsignedInteger, 4): for i in 0..<count { output[i] = Double(load(UInt32.self, bytes, i)) }
            case (.unsignedInteger, _): for i in 0..<count { output[i] = Double(load(UInt64.self, bytes, i)) }
            case (.boolean, _): for i in 0..<count { output[i] = bytes[i] == 0 ? 0 : 1 }
            }
            initialized = count
        }
    }

    /// Element `i` of `bytes` as an unsigned integer of this dtype's byte order.
    @inline(__always)
    private func load<T: FixedWidthInteger>(_ type: T.Type, _ bytes: UnsafeRawBufferPointer, _ i: Int) -> T {
        let raw = bytes.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
        return isBigEndian ? T(bigEndian: raw) : T(littleEndian: raw)
    }

    /// An IEEE half-precision float, widened by hand: `Float16` is not available on every
    /// platform the package builds for.
    static func half(_ bits: UInt16) -> Float {
        let sign: Float = bits & 0x8000 == 0 ? 1 : -1
        let exponent = Int((bits >> 10) & 0x1F), fraction = Float(bits & 0x3FF)
        switch exponent {
        case 0: return sign * fraction * 0x1p-24
        case 31: return fraction == 0 ? sign * .infinity : .nan
        default: return sign * (1 + fraction / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }
}
