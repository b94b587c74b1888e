import CDNNL
import CKernels
import Foundation

/// What the machine running the kernels is: its CPU, the instruction set oneDNN runs, and
/// whether bfloat16 arithmetic is there. Benchmarks record it, since the same binary picks
/// different kernels (and speeds) on an AVX-512 and an AVX2 host, or under
/// `ONEDNN_MAX_CPU_ISA`.
public enum ComputeHost {
    /// The CPU's model name as Linux reports it (`AMD EPYC`, `Intel(R) Xeon(R) ...`).
    public static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let value = line.split(separator: ":", maxSplits: 1).last else { return "unknown" }
        return value.trimmingCharacters(in: .whitespaces)
    }

    /// The instruction set oneDNN's kernels use here, after `ONEDNN_MAX_CPU_ISA`
    /// (`dnnl_get_effective_cpu_isa`): `avx512_core_bf16`, `avx2`, ...
    public static var oneDNNISA: String { isaName(dnnl_get_effective_cpu_isa()) }

    /// Whether the CPU has AVX-512 bfloat16 instructions (`avx512_bf16`) or AMX-BF16.
    public static var cpuHasBF16: Bool {
        let flags = OpenBLASCore.cpuFlags
        return flags.contains("avx512_bf16") || flags.contains("amx_bf16")
    }

    /// Whether oneDNN may run bfloat16 kernels here: the CPU has them and the effective ISA
    /// (which `ONEDNN_MAX_CPU_ISA` may cap) includes them.
    public static var oneDNNBF16: Bool {
        let isa = dnnl_get_effective_cpu_isa().rawValue
        let bf16 = dnnl_cpu_isa_avx512_core_bf16.rawValue
        return isa & bf16 == bf16
    }

    /// The instruction set of the package's own C vector loops (`CKernels`): AVX-512 or
    /// AVX2 where oneDNN runs those, so that `ONEDNN_MAX_CPU_ISA` caps both; otherwise
    /// baseline x86-64. Every choice computes the same values.
    static let kernelISA: mocca_isa = {
        let isa = dnnl_get_effective_cpu_isa().rawValue
        let has = { (level: dnnl_cpu_isa_t) in isa & level.rawValue == level.rawValue }
        if has(dnnl_cpu_isa_avx512_core) { return MOCCA_ISA_AVX512 }
        return has(dnnl_cpu_isa_avx2) ? MOCCA_ISA_AVX2 : MOCCA_ISA_BASELINE
    }()

    /// The oneDNN library version (`2.6.3`).
    public static var oneDNNVersion: String {
        guard let version = dnnl_version()?.pointee else { return "unknown" }
        return "\(version.major).\(version.minor).\(version.patch)"
    }

    /// The fields a benchmark's JSON records about the host.
    public static var record: [String: Any] {
        [
            "cpu_model": cpuModel,
            "onednn_isa": oneDNNISA,
            "onednn_version": oneDNNVersion,
            "cpu_bf16": cpuHasBF16,
            "onednn_bf16": oneDNNBF16,
            "openblas_core": OpenBLASCore.current,
            "onednn_max_cpu_isa": ProcessInfo.processInfo.environment["ONEDNN_MAX_CPU_ISA"] ?? "",
        ]
    }

    static func isaName(_ isa: dnnl_cpu_isa_t) -> String {
        switch isa {
        case dnnl_cpu_isa_sse41: return "sse41"
        case dnnl_cpu_isa_avx: return "avx"
        case dnnl_cpu_isa_avx2: return "avx2"
        case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni"
        case dnnl_cpu_isa_avx512_mic: return "avx512_mic"
        case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops"
        case dnnl_cpu_isa_avx512_core: return "avx512_core"
        case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx"
        case dnnl_cpu_isa_all: return "all"
        default: return "isa_0x" + String(isa.rawValue, radix: 16)
        }
    }
}
