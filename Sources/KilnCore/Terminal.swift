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
        s.withUTF8 { write($0, fd: 2) }
    }

    /// Writes `bytes` to standard output unbuffered (pieces may split UTF-8 sequences; the terminal reassembles them).
    public static func output(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { write($0, fd: 1) }
    }

    /// Writes all of `b` to `fd`, stopping quietly when the descriptor refuses more (closed pipe).
    static func write(_ b: UnsafeBufferPointer<UInt8>, fd: Int32) {
        guard let base = b.baseAddress else { return }
        var done = 0
        while done < b.count {
            let n = Glibc.write(fd, base + done, b.count - done)
            if n <= 0 { return }
            done += n
        }
    }
}
