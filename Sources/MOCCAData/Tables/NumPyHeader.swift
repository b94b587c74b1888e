/// The header of a `.npy` file: dtype, layout and shape, checked against each other
/// before any payload is touched, so that a hostile shape cannot cause an allocation.
struct NumPyHeader {
    let descr: String
    let dtype: NumPyDType
    let isFortranOrder: Bool
    let shape: [Int]
    /// The product of `shape`, which is known not to overflow even when multiplied by the
    /// element size.
    let elementCount: Int

    /// Parses the header's dict literal, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
    /// - Throws: ``DataError/malformed(path:message:)`` for a header that is not such a dict,
    ///   lacks a key, or has a negative or overflowing shape;
    ///   ``DataError/unsupported(path:message:)`` for a dtype that holds no plain numbers.
    init(_ bytes: [UInt8], path: String) throws {
        let literal: PythonLiteral
        do {
            literal = try PythonLiteral.parse(bytes)
        } catch let error as PythonLiteralError {
            throw DataError.malformed(path: path, message: "expected a .npy header dict such as {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)}: \(error.message)")
        }
        guard case .dictionary(let entries) = literal else {
            throw DataError.malformed(path: path, message: "expected the .npy header to be a dict, found \(literal)")
        }
        func entry(_ key: String) throws -> PythonLiteral {
            let matches = entries.filter { $0.key == .string(key) }
            guard matches.count == 1 else {
                throw DataError.malformed(path: path, message: "expected the .npy header to have one '\(key)' key, found \(matches.count)")
            }
            return matches[0].value
        }
        switch try entry("descr") {
        case .string(let descr):
            self.descr = descr
            self.dtype = try NumPyDType(descr: descr, path: path)
        case .list:
            throw DataError.unsupported(path: path, message: "a structured dtype (a list of named fields); expected floats, integers or booleans such as '<f4'")
        case let other:
            throw DataError.malformed(path: path, message: "expected a dtype string in the header's 'descr', found \(other)")
        }
        guard case .boolean(let fortran) = try entry("fortran_order") else {
            throw DataError.malformed(path: path, message: "expected True or False in the header's 'fortran_order'")
        }
        isFortranOrder = fortran
        guard case .tuple(let dimensions) = try entry("shape") else {
            throw DataError.malformed(path: path, message: "expected a tuple of integers in the header's 'shape'")
        }
        var shape: [Int] = []
        var count = 1, overflow = false
        for dimension in dimensions {
            guard case .integer(let size) = dimension, size >= 0 else {
                throw DataError.malformed(path: path, message: "expected non-negative integers in the header's 'shape', found \(dimension)")
            }
            shape.append(size)
            let (product, didOverflow) = count.multipliedReportingOverflow(by: size)
            count = product
            overflow = overflow || didOverflow
        }
        let (bytes, bytesOverflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, !bytesOverflow, bytes <= Int(Int32.max) * 1024 else {
            throw DataError.malformed(path: path, message: "shape \(shape) of \(descr) describes more data than a file can hold (corrupt header)")
        }
        self.shape = shape
        elementCount = count
    }
}
