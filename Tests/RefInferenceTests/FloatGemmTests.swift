import CKernels
import Foundation
import Testing
@testable import RefInference

/// The float path's matrix products: both kernels against a double-precision product, bit-identical across thread
/// counts, and the SIMD kernel equal to `ck_dot_f32` element for element.
@Suite struct FloatGemmTests {
    static func random(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0 ..< n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s >> 11) % 2001 - 1000) / 1000
        }
    }

    static func product(_ x: [Float], _ w: [Float], m: Int, n: Int, k: Int, threads: Int, kernel: FloatGemm.Kernel) -> [Float] {
        var y = [Float](repeating: .nan, count: m * n)
        FloatGemm.multiply(x: x, m: m, w: w, n: n, k: k, y: &y, ldy: n, threads: threads, kernel: kernel)
        return y
    }

    @Test(arguments: FloatGemm.Kernel.allCases)
    func matchesADoubleProductAndIgnoresThreadCount(kernel: FloatGemm.Kernel) {
        // Odd sizes: edge tiles in every direction, a k tail, several blocks.
        let (m, n, k) = (37, 301, 203)
        let x = Self.random(m * k, seed: 1), w = Self.random(n * k, seed: 2)
        let one = Self.product(x, w, m: m, n: n, k: k, threads: 1, kernel: kernel)
        var worst = 0.0
        for i in 0 ..< m {
            for j in 0 ..< n {
                var s = 0.0
                for c in 0 ..< k { s += Double(x[i * k + c]) * Double(w[j * k + c]) }
                worst = max(worst, abs(Double(one[i * n + j]) - s))
            }
        }
        // 203 products of values ≤ 1 summed in float: rounding stays far below 1e-4 (measured ~1e-5).
        #expect(worst < 1e-4, "max |Δ| \(worst)")
        for threads in [2, 3, 5] {
            #expect(Self.product(x, w, m: m, n: n, k: k, threads: threads, kernel: kernel) == one, "\(threads) threads")
        }
    }

    @Test func simdKernelEqualsTheDotProductBitForBit() {
        let (m, n, k) = (9, 7, 77)
        let x = Self.random(m * k, seed: 3), w = Self.random(n * k, seed: 4)
        let y = Self.product(x, w, m: m, n: n, k: k, threads: 1, kernel: .simd)
        for i in 0 ..< m {
            for j in 0 ..< n {
                let d = x.withUnsafeBufferPointer { xb in w.withUnsafeBufferPointer { wb in
                    ck_dot_f32(xb.baseAddress! + i * k, wb.baseAddress! + j * k, Int64(k))
                } }
                #expect(y[i * n + j] == d)
            }
        }
    }

    /// GFLOP/s of both kernels on Gemma 3 270M and 1B shapes, same run:
    /// `KILN_BENCH_FLOAT_GEMM=1 swift test -c release --filter FloatGemmTests` (scripts/bench-float-path.sh).
    @Test func benchmark() {
        guard let threadsText = ProcessInfo.processInfo.environment["KILN_BENCH_FLOAT_GEMM"] else { return }
        let threadCounts = threadsText.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
        // (label, m = tokens, n = output features, k = input features); logits: one streamed block of the output
        // matrix (16 MiB of rows) against a 64-position block.
        let shapes: [(String, Int, Int, Int)] = [
            ("270M attn_q", 512, 1024, 640), ("270M attn_k", 512, 256, 640), ("270M attn_output", 512, 640, 1024),
            ("270M ffn_gate", 512, 2048, 640), ("270M ffn_down", 512, 640, 2048),
            ("270M logits block", 64, StreamedFloatModel.rowsPerBlock(columns: 640), 640),
            ("1B attn_q", 512, 1024, 1152), ("1B attn_k", 512, 256, 1152), ("1B attn_output", 512, 1152, 1024),
            ("1B ffn_gate", 512, 6912, 1152), ("1B ffn_down", 512, 1152, 6912),
            ("1B logits block", 64, StreamedFloatModel.rowsPerBlock(columns: 1152), 1152),
        ]
        for (label, m, n, k) in shapes {
            let x = Self.random(m * k, seed: 5), w = Self.random(n * k, seed: 6)
            var y = [Float](repeating: 0, count: m * n)
            var line = "float-gemm \(label) (m \(m), n \(n), k \(k)):"
            for threads in threadCounts {
                for kernel in FloatGemm.Kernel.allCases {
                    FloatGemm.multiply(x: x, m: m, w: w, n: n, k: k, y: &y, ldy: n, threads: threads, kernel: kernel)
                    var reps = 0
                    let t0 = Date()
                    repeat {
                        FloatGemm.multiply(x: x, m: m, w: w, n: n, k: k, y: &y, ldy: n, threads: threads, kernel: kernel)
                        reps += 1
                    } while Date().timeIntervalSince(t0) < 0.5
                    let gflops = 2 * Double(m * n * k) * Double(reps) / Date().timeIntervalSince(t0) / 1e9
                    line += String(format: "  %@ %dt %.1f", kernel.rawValue, threads, gflops)
                }
            }
            print(line + " GFLOP/s")
        }
    }
}
