import CKernels
import KilnCore

/// How a `QuantizedWeightMatrix` holds its blocks: as GGUF stores them, or with each group of eight rows interleaved
/// for the AVX2 kernel of its type, the way llama.cpp's CPU backend repacks Q4_0 and Q4_K at load
/// (ggml-cpu/repack.cpp: block_q4_0x8, block_q4_Kx8; block_q6_Kx8 on ARM) — with Kiln's own byte order, described
/// in CKernels/repack_q4_0x8.c, repack_q4_kx8.c and repack_q6_kx8.c. Products on either layout have the same bits.
public enum QuantizedLayout: Sendable, Equatable {
    /// Row after row, as GGUF stores them.
    case rows
    /// Q4_0, eight rows interleaved block by block (`ck_repack_q4_0x8`): the same bytes, rearranged.
    case q4_0x8
    /// Q4_K, eight rows interleaved super-block by super-block with scales and mins unpacked (`ck_repack_q4_Kx8`):
    /// `CK_Q4_K_X8_BYTES` (1184) per eight super-blocks instead of 1152.
    case q4_Kx8
    /// Q6_K, eight rows interleaved super-block by super-block (`ck_repack_q6_Kx8`): the same byte count.
    case q6_Kx8

    /// The layout the engine's kernels read fastest for a `rows × columns` tensor of `type` on this CPU: interleaved
    /// for Q4_0 and Q4_K with a multiple of 8 rows (the tensors llama.cpp repacks on an AVX2 machine,
    /// `ggml_repack_get_optimal_repack_type`) where the AVX2 kernels run, and Q6_K likewise (llama.cpp repacks it
    /// for ARM's int8 instructions; Kiln's K-quant sums are its own order, so the layout is free), else `.rows`.
    public static func fastest(type: GGMLType, rows: Int, columns: Int) -> QuantizedLayout {
        guard rows > 0, rows % 8 == 0, ck_uses_avx2() != 0 else { return .rows }
        switch type {
        case .q4_0 where columns % 32 == 0: return .q4_0x8
        case .q4_K where columns % 256 == 0: return .q4_Kx8
        case .q6_K where columns % 256 == 0: return .q6_Kx8
        default: return .rows
        }
    }

    /// The type whose tensors this layout holds (nil for `.rows`, which holds any).
    var storedType: GGMLType? {
        switch self {
        case .rows: nil
        case .q4_0x8: .q4_0
        case .q4_Kx8: .q4_K
        case .q6_Kx8: .q6_K
        }
    }

    /// The weight type id `ck_matmul` takes for a matrix of `type` in this layout.
    func kernelType(_ type: GGMLType) -> Int32 {
        switch self {
        case .rows: type.id
        case .q4_0x8: CK_Q4_0_X8
        case .q4_Kx8: CK_Q4_K_X8
        case .q6_Kx8: CK_Q6_K_X8
        }
    }

    /// Bytes one group of eight rows of `columns` elements takes (nil for `.rows`).
    func groupBytes(columns: Int) -> Int? {
        switch self {
        case .rows: nil
        case .q4_0x8: columns / 32 * Int(CK_Q4_0_X8_BYTES)
        case .q4_Kx8: columns / 256 * Int(CK_Q4_K_X8_BYTES)
        case .q6_Kx8: columns / 256 * Int(CK_Q6_K_X8_BYTES)
        }
    }

    /// Rewrites `rows` stored rows (`rowBytes` each) at `src` into this layout at `dst`.
    func repack(_ src: UnsafeRawPointer, rowBytes: Int, rows: Int, columns: Int, into dst: UnsafeMutableRawPointer) {
        switch self {
        case .rows: dst.copyMemory(from: src, byteCount: rows * rowBytes)
        case .q4_0x8: ck_repack_q4_0x8(src, rowBytes, Int32(rows), Int32(columns), dst)
        case .q4_Kx8: ck_repack_q4_Kx8(src, rowBytes, Int32(rows), Int32(columns), dst)
        case .q6_Kx8: ck_repack_q6_Kx8(src, rowBytes, Int32(rows), Int32(columns), dst)
        }
    }

    /// Row `r` of a tensor in this layout at `base`, as GGUF stores it, into `row`.
    func storedRow(_ r: Int, of base: UnsafeRawPointer, rowBytes: Int, columns: Int, into row: UnsafeMutableRawPointer) {
        switch self {
        case .rows: row.copyMemory(from: base + r * rowBytes, byteCount: rowBytes)
        case .q4_0x8: ck_unrepack_q4_0x8_row(base, Int32(columns), Int32(r), row)
        case .q4_Kx8: ck_unrepack_q4_Kx8_row(base, Int32(columns), Int32(r), row)
        case .q6_Kx8: ck_unrepack_q6_Kx8_row(base, Int32(columns), Int32(r), row)
        }
    }
}
