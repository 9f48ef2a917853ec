import KilnCore

/// One test's timings, reported as llama-bench reports them (`avg_ts`, `stddev_ts`, `samples_ts`, `samples_ns`).
struct BenchResult {
    let model: String
    let test: LlamaBenchTest
    let threads: Int
    let batch: Int
    let samplesNs: [UInt64]

    /// Tokens per second of each repetition (llama-bench's `get_ts`: tokens × 1e9 / ns).
    var samplesTs: [Double] { samplesNs.map { Double(test.tokens) * 1e9 / Double(max($0, 1)) } }

    /// Mean of the per-repetition rates (llama-bench's `avg_ts`: the mean of the rates, not of the times).
    var avgTs: Double { Self.mean(samplesTs) }

    /// Sample standard deviation of the rates, 0 for one repetition (llama-bench's `stdev`).
    var stddevTs: Double {
        let v = samplesTs
        guard v.count > 1 else { return 0 }
        let m = Self.mean(v)
        return (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)).squareRoot()
    }

    static func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }

    /// The `--json` object of one test (llama-bench's `-o json` field names, so one parser reads both tools).
    var json: JSONValue {
        .object([
            ("model_filename", .string(model)),
            ("n_prompt", .int(test.kind == .prompt ? test.tokens : 0)),
            ("n_gen", .int(test.kind == .generation ? test.tokens : 0)),
            ("n_threads", .int(threads)),
            ("n_batch", .int(batch)),
            ("n_ctx", .int(test.contextLength)),
            ("avg_ns", .int(Int(Self.mean(samplesNs.map { Double($0) })))),
            ("avg_ts", .double(avgTs)),
            ("stddev_ts", .double(stddevTs)),
            ("samples_ns", .array(samplesNs.map { .int(Int($0)) })),
            ("samples_ts", .array(samplesTs.map { .double($0) })),
        ])
    }

    /// A row of the markdown table (llama-bench's default output): test, threads, batch, t/s ± stddev.
    var row: String {
        "| \(test.name) | \(threads) | \(batch) | \(String(format: "%.2f ± %.2f", avgTs, stddevTs)) |"
    }

    static let header = "| test | threads | batch | t/s |\n| --- | ---: | ---: | ---: |"
}
