/// Prompt and decode throughput, accumulated over a run.
public struct ChatStats: Sendable {
    public var promptTokens = 0
    public var promptSeconds = 0.0
    public var decodeTokens = 0
    public var decodeSeconds = 0.0

    public init() {}

    /// "prompt 812.3 tok/s, decode 95.1 tok/s": the last stderr line of `chat`.
    public var summary: String {
        func rate(_ n: Int, _ s: Double) -> String { s > 0 ? String(format: "%.1f", Double(n) / s) : "0.0" }
        return "prompt \(rate(promptTokens, promptSeconds)) tok/s, decode \(rate(decodeTokens, decodeSeconds)) tok/s"
    }
}
