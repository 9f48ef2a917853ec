// Times Quantizer.quantize on 4M pseudo-normal floats (σ≈0.03, rows of 4096), best of 3, one thread.
import KilnCore
import QuantCore
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

// `QuantBench --file IN.f32 ROWLEN TYPE OUT [ref]`: quantizes a raw little-endian float32 file (for cross-checks with ggml).
if CommandLine.arguments.count >= 6, CommandLine.arguments[1] == "--file" {
    let a = CommandLine.arguments
    let input = try! MappedFile(path: a[2])
    let rowLength = Int(a[3])!, t = GGMLType.named(a[4])!
    let count = input.count / 4
    var out = [UInt8](repeating: 0, count: t.byteCount(elements: count)!)
    let path: Quantizer.Path = a.count > 6 && a[6] == "ref" ? .reference : .fast
    let src = UnsafeBufferPointer(start: input.bytes.baseAddress!.assumingMemoryBound(to: Float.self), count: count)
    out.withUnsafeMutableBytes { dst in try! Quantizer.quantize(t, src, rowLength: rowLength, into: dst, path: path) }
    let f = fopen(a[5], "wb")!
    _ = out.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    fclose(f)
    exit(0)
}

let n = 4 << 20
struct LCG {
    var state: UInt64 = 12345
    mutating func uniform() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24)
    }
}
var rng = LCG()
var x = [Float](repeating: 0, count: n)
for i in 0 ..< n { x[i] = (rng.uniform() + rng.uniform() + rng.uniform() - 1.5) * 0.05 }
let args = CommandLine.arguments.dropFirst()
let names = args.filter { $0 != "ref" }.isEmpty ? ["Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q6_K"] : args.filter { $0 != "ref" }
let path: Quantizer.Path = args.contains("ref") ? .reference : .fast
for name in names {
    guard let t = GGMLType.named(name), Quantizer.canQuantize(t) else { print("unknown type \(name)"); continue }
    var out = [UInt8](repeating: 0, count: t.byteCount(elements: n)!)
    var best = Double.infinity
    for _ in 0 ..< 3 {
        let t0 = now()
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBytes { dst in try! Quantizer.quantize(t, src, rowLength: 4096, into: dst, path: path) }
        }
        best = min(best, now() - t0)
    }
    var h: UInt64 = 1469598103934665603
    for b in out { h = (h ^ UInt64(b)) &* 1099511628211 }
    var back = [Float](repeating: 0, count: n)
    var bestDeq = Double.infinity
    for _ in 0 ..< 3 {
        let t0 = now()
        out.withUnsafeBytes { src in
            back.withUnsafeMutableBufferPointer { dst in try! Quantizer.dequantize(ElementType(ggml: t), src, count: n, into: dst) }
        }
        bestDeq = min(bestDeq, now() - t0)
    }
    let ms = (best * 10000).rounded() / 10, dms = (bestDeq * 10000).rounded() / 10
    print("\(name) \(path): quantize \(ms) ms (\(Int(Double(n) / best / 1e6)) Mfloat/s), dequantize \(dms) ms, fnv \(String(h, radix: 16))")
}
