import Dispatch
import Foundation
import KilnCore
import Testing
@testable import FlaxCheckpoint

/// Read throughput of a large checkpoint: a benchmark, not a test. scripts/bench-orbax-read.sh (`make bench`) runs it
/// as `KILN_BENCH_ORBAX=/path swift test -c release --filter BenchmarkTests`; `make test` leaves it out
/// (`--skip BenchmarkTests`), and a plain `swift test` reports it as skipped.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["KILN_BENCH_ORBAX"] != nil, "a benchmark: `make bench` runs it"))
struct BenchmarkTests {
    @Test func readEveryArray() throws {
        let path = try #require(ProcessInfo.processInfo.environment["KILN_BENCH_ORBAX"])
        let t0 = Date()
        let ckpt = try OrbaxCheckpoint(path: path)
        let open = Date().timeIntervalSince(t0)
        var decoded = 0
        var checksum: UInt64 = 0
        // First pass faults the mapped data files in; the timed pass below reads from warm mappings.
        for t in ckpt.tensors.prefix(2) { _ = try ckpt.withBytes(of: t) { $0.count } }
        let t1 = Date()
        for t in ckpt.tensors {
            decoded += try ckpt.withBytes(of: t) { b in
                checksum &+= UInt64(b.load(fromByteOffset: b.count / 2, as: UInt8.self))
                return b.count
            }
        }
        let whole = Date().timeIntervalSince(t1)
        // Streaming: 256 rows per call (the converter's access pattern), reusing the cached chunk.
        let t2 = Date()
        var streamed = 0
        for t in ckpt.tensors {
            var r = 0
            while r < t.rowCount {
                let rows = r ..< min(r + 256, t.rowCount)
                streamed += try ckpt.withBytes(of: t, rows: rows) { $0.count }
                r = rows.upperBound
            }
        }
        let stream = Date().timeIntervalSince(t2)
        // Scaling: the same whole-array reads spread over 1 and 2 threads (arrays, and the chunks inside each, are
        // decoded independently; a reader shares no lock on the hot path).
        for threads in [1, 2] {
            let t3 = Date()
            let tensors = ckpt.tensors
            DispatchQueue.concurrentPerform(iterations: threads) { part in
                for i in stride(from: part, to: tensors.count, by: threads) {
                    _ = try? ckpt.withBytes(of: tensors[i]) { $0.count }
                }
            }
            let dt = Date().timeIntervalSince(t3)
            print(String(format: "orbax-bench: %d thread(s): whole-array read %.2f s = %.0f MB/s", threads, dt, Double(decoded) / 1e6 / dt))
        }
        let mb = Double(decoded) / 1e6
        print(String(format: "orbax-bench: %d arrays, %.0f MB decoded; open %.3f s; whole-array read %.2f s = %.0f MB/s; "
                         + "256-row streaming %.2f s = %.0f MB/s (checksum %llu)",
                     ckpt.tensors.count, mb, open, whole, mb / whole, stream, Double(streamed) / 1e6 / stream, checksum))
    }
}
