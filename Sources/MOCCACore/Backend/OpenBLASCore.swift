import COpenBLAS
import Foundation

/// Which kernels OpenBLAS chose for this CPU, and which it should have.
///
/// OpenBLAS picks its kernels once, when it is loaded, from a table of the CPUs it knows.
/// Debian's 0.3.21 does not know some newer CPUs (a Xeon with AVX-512 and AMX reports
/// "Prescott") and then runs SSE3 kernels: its SGEMM, which the nearest-neighbour score
/// and the linear layers use, was then several times slower than it can be. The choice can
/// only be corrected before the library loads, with `OPENBLAS_CORETYPE`.
public enum OpenBLASCore {
    /// The kernel family OpenBLAS runs (`SkylakeX`, `Haswell`, `Zen`, `Prescott`, ...).
    public static var current: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The kernels to ask for, or nil when OpenBLAS's own choice stands: `SkylakeX` on a
    /// CPU with AVX-512 (F, BW, DQ, VL) and `Haswell` on one with AVX2 and FMA, where
    /// OpenBLAS fell back to a generic SSE kernel family; nil when `OPENBLAS_CORETYPE` is
    /// already set (the user's choice).
    public static var preferred: String? {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else { return nil }
        guard ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Katmai", "Coppermine", "Northwood", "Banias", "Atom"].contains(current) else { return nil }
        let flags = cpuFlags
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }

    /// The CPU's feature flags, as Linux lists them.
    static var cpuFlags: Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: ":").last?.split(separator: " ").map(String.init) ?? [])
    }
}
