#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A one-line progress bar on stderr, redrawn with `\r` at most ten times a second; silent when stderr is not a TTY.
public final class ProgressBar: Sendable {
    private struct State {
        var done = 0
        var lastDraw = 0.0
    }
    private let label: String
    private let total: Int
    private let enabled: Bool
    private let state = Mutex(State())
    private let start = ProgressBar.now()

    public init(_ label: String, total: Int, enabled: Bool = Terminal.stderrIsTTY) {
        self.label = label
        self.total = max(total, 1)
        self.enabled = enabled
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Adds `n` units of work (thread-safe).
    public func advance(_ n: Int, note: String = "") {
        guard enabled else { return }
        let t = ProgressBar.now()
        let line: String? = state.withLock { s in
            s.done += n
            guard t - s.lastDraw >= 0.1 || s.done >= total else { return nil }
            s.lastDraw = t
            let frac = min(Double(s.done) / Double(total), 1)
            let width = 30
            let filled = Int(frac * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            return "\r\(label) \(bar) \(Int(frac * 100))% \(String(format3: t - start))s \(note.prefix(40))\u{1B}[K"
        }
        if let line { Terminal.write(line) }
    }

    /// Clears the bar.
    public func finish() {
        guard enabled else { return }
        Terminal.write("\r\u{1B}[K")
    }
}

extension String {
    init(format3 seconds: Double) {
        let tenths = Int((seconds * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
