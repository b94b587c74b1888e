/// The `q`-quantile of ascending `sorted` values, interpolated linearly between the two
/// nearest ranks (NumPy's default, `method="linear"`).
/// - Precondition: `sorted` is not empty and `q` is in `0...1`.
public func quantile(ofSorted sorted: [Float], _ q: Double) -> Float {
    precondition(!sorted.isEmpty, "quantile of no values")
    let position = q * Double(sorted.count - 1)
    let lower = Int(position.rounded(.down)), upper = min(lower + 1, sorted.count - 1)
    let fraction = Float(position - Double(lower))
    return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
}
