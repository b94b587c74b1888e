/// A seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// Every random choice in swift-mocca draws from one of these, so the same seed gives
/// the same numbers on every run and machine.
public struct RandomGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose whole sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A float uniform in `[0, 1)` with 24 random bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A standard normal sample (Box–Muller, computed in double precision).
    public mutating func nextNormal() -> Float {
        let u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let radius = (-2.0 * log(max(u1, .leastNonzeroMagnitude))).squareRoot()
        return Float(radius * cos(2.0 * .pi * u2))
    }

    /// A uniformly random permutation of `0..<count` (Fisher–Yates).
    public mutating func permutation(_ count: Int) -> [Int] {
        var values = Array(0..<count)
        guard count > 1 else { return values }
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            values.swapAt(i, j)
        }
        return values
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Tensor {
    /// Values drawn uniformly from `range`.
    public static func uniform(
        shape: [Int], in range: ClosedRange<Float> = 0...1, using generator: inout RandomGenerator
    ) -> Tensor {
        let result = Tensor(zeros: shape)
        let width = range.upperBound - range.lowerBound
        let p = result.floatPointer
        for i in 0..<result.count { p[i] = range.lowerBound + width * generator.nextUniform() }
        return result
    }

    /// Values drawn from a normal distribution.
    public static func normal(
        shape: [Int], mean: Float = 0, standardDeviation: Float = 1, using generator: inout RandomGenerator
    ) -> Tensor {
        let result = Tensor(zeros: shape)
        let p = result.floatPointer
        for i in 0..<result.count { p[i] = mean + standardDeviation * generator.nextNormal() }
        return result
    }
}
