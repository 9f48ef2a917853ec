import Conversion
import Foundation
import KilnCLI
import KilnCore
import RefInference
import Testing

/// Time and memory of the streamed float path on a real-sized checkpoint:
/// `KILN_MEASURE_FLOAT_PATH=CKPT` (scripts/measure-float-path.sh runs it under /usr/bin/time -v for the peak RSS).
/// A measurement, not a test: `make test` does not run it (scripts/run-tests.sh skips it, as it skips BenchmarkTests);
/// scripts/measure-float-path.sh runs it alone with the variable set.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["KILN_MEASURE_FLOAT_PATH"] != nil, "a measurement: scripts/measure-float-path.sh runs it"))
struct FloatPathMeasureTests {
    @Test func streamAllLayersAndLogits() throws {
        let env = ProcessInfo.processInfo.environment
        let path = try #require(env["KILN_MEASURE_FLOAT_PATH"])
        let threads = Int(env["KILN_MEASURE_THREADS"] ?? "") ?? 2
        let t0 = Date()
        let view = try ConvertedTensorView(source: try SourceOpener.open(path))
        let c = try view.gemmaConfig()
        let options = FloatPathOptions(threads: threads)
        let model = try StreamedFloatModel(source: view, config: c, options: options)
        // About 1,500 tokens: one sequence longer than the sliding window, several short ones.
        let lengths = [c.slidingWindow + 188] + [Int](repeating: 200, count: 4)
        var state: UInt64 = 12345
        let sequences: [[Int32]] = lengths.map { n in
            (0 ..< n).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Int32(truncatingIfNeeded: (state >> 33) % UInt64(c.vocabularySize))
            }
        }
        let t1 = Date()
        let hidden = try model.finalHidden(sequences, progress: nil)
        let t2 = Date()
        let d = c.embeddingLength, vocab = c.vocabularySize, block = options.positionBlock
        var out = [Float](repeating: 0, count: block * vocab)
        var checksum = 0.0, blocks = 0
        for h in hidden {
            let rows = h.count / d
            var p = 0
            while p < rows {
                let n = min(block, rows - p)
                try h.withUnsafeBufferPointer { hb in
                    try out.withUnsafeMutableBufferPointer { ob in
                        try model.logits(hidden: UnsafeBufferPointer(rebasing: hb[p * d ..< (p + n) * d]), count: n, into: ob)
                    }
                }
                checksum += Double(out[0])
                blocks += 1
                p += n
            }
        }
        let t3 = Date()
        let tokens = lengths.reduce(0, +)
        print(String(format: "float-path-measure: %@ (%d layers, d %d, vocab %d), %d tokens in %d sequences, %d threads: "
                     + "open %.1f s, layers %.1f s, logits %.1f s (%d blocks of %d positions); layer weights %.0f MB; checksum %.3f",
                     path, c.layerCount, d, vocab, tokens, lengths.count, threads, t1.timeIntervalSince(t0), t2.timeIntervalSince(t1),
                     t3.timeIntervalSince(t2), blocks, block, Double(model.layerWeightBytes) / 1e6, checksum))
    }
}
