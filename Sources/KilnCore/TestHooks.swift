#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Fault injection for Kiln's own tests, switched on by environment variables (off and free when unset):
/// - `KILN_TEST_FAIL_WRITE_AFTER=N`: output writes fail with ENOSPC once N bytes have been written by this process;
/// - `KILN_TEST_PAUSE_AFTER_TENSORS=N`: a conversion stops after writing N tensors and waits (for a signal),
///   announcing it on stderr with `kiln-test: paused after N tensors`.
public enum TestHooks {
    static let failWriteAfter: Int? = getenv("KILN_TEST_FAIL_WRITE_AFTER").flatMap { Int(String(cString: $0)) }
    static let pauseAfterTensors: Int? = getenv("KILN_TEST_PAUSE_AFTER_TENSORS").flatMap { Int(String(cString: $0)) }
    static let written = Atomic<Int>(0)

    /// `write(2)`, failing with ENOSPC past the injected limit.
    static func write(_ fd: Int32, _ buf: UnsafeRawPointer, _ count: Int) -> Int {
        if let limit = failWriteAfter {
            let before = written.add(count, ordering: .relaxed).oldValue
            if before + count > limit {
                errno = ENOSPC
                return -1
            }
        }
        return Glibc.write(fd, buf, count)
    }

    static let tensors = Atomic<Int>(0)

    /// Called by converters after each completed tensor (counted over every output of the process, so a pause can
    /// fall in the mmproj); pauses forever at the injected point.
    public static func tensorWritten() {
        guard let n = pauseAfterTensors, tensors.add(1, ordering: .relaxed).newValue == n else { return }
        Terminal.error("kiln-test: paused after \(n) tensors")
        while true { sleep(60) }
    }
}
