/// Prompt and decode throughput, accumulated over a run.
public struct ChatStats: Sendable {
    public var promptTokens = 0
    public var promptSeconds = 0.0
    public var decodeTokens = 0
    public var decodeSeconds = 0.0
    /// Images encoded and the time the vision encoder took (included in `promptSeconds`).
    public var images = 0
    public var imageSeconds = 0.0

    public init() {}

    /// "prompt 812.3 tok/s, decode 95.1 tok/s" (", 1 image encoded in 0.42 s" when there were images): the last
    /// stderr line of `chat`. Prompt tokens include the images' soft tokens.
    public var summary: String {
        func rate(_ n: Int, _ s: Double) -> String { s > 0 ? String(format: "%.1f", Double(n) / s) : "0.0" }
        var s = "prompt \(rate(promptTokens, promptSeconds)) tok/s, decode \(rate(decodeTokens, decodeSeconds)) tok/s"
        if images > 0 { s += String(format: ", %d image%@ encoded in %.2f s", images, images == 1 ? "" : "s", imageSeconds) }
        return s
    }
}
