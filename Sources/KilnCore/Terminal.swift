#if canImport(Glibc)
import Glibc
#endif

/// Writing to standard error and knowing whether it is a terminal (progress is drawn only on a terminal).
public enum Terminal {
    public static var stderrIsTTY: Bool { isatty(2) == 1 }

    public static func error(_ s: String) {
        var line = s
        if !line.hasSuffix("\n") { line += "\n" }
        write(line)
    }

    /// Writes `s` to file descriptor 2 unbuffered (safe from any thread).
    public static func write(_ s: String) {
        var s = s
        s.withUTF8 { b in
            var done = 0
            while done < b.count {
                let n = Glibc.write(2, b.baseAddress! + done, b.count - done)
                if n <= 0 { return }
                done += n
            }
        }
    }
}
