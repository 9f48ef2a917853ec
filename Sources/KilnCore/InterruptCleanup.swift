#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Removes registered temp files when the process is interrupted (SIGINT, SIGTERM, SIGHUP), then exits with
/// 128 + the signal number and a message on stderr.
///
/// The handler only calls async-signal-safe functions (`unlink`, `write`, `_exit`) on C strings allocated when
/// the path was registered; registration installs the handler the first time. Strings of unregistered paths are
/// never freed (a handler running on another thread may still hold one); that costs a few bytes per output file.
public enum InterruptCleanup {
    static let capacity = 64
    /// Registered temp paths as C strings; nil slots are free. Written under `lock`, read by the handler.
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        p.initialize(repeating: nil, count: capacity)
        return p
    }()
    static let lock = Mutex<Bool>(false)   // the value: whether the handlers are installed
    /// Messages written by the handler, prepared in advance.
    nonisolated(unsafe) static let messages: [Int32: UnsafeMutablePointer<CChar>] = [
        SIGINT: strdup("Error: interrupted (SIGINT); removed the temporary output files, nothing was written\n")!,
        SIGTERM: strdup("Error: terminated (SIGTERM); removed the temporary output files, nothing was written\n")!,
        SIGHUP: strdup("Error: hung up (SIGHUP); removed the temporary output files, nothing was written\n")!,
    ]
    nonisolated(unsafe) static let messageSIGINT = messages[SIGINT]!
    nonisolated(unsafe) static let messageSIGTERM = messages[SIGTERM]!
    nonisolated(unsafe) static let messageSIGHUP = messages[SIGHUP]!

    /// Registers `path` for removal on interruption; returns its slot (nil when all slots are taken, in which
    /// case the file is still removed on every normal exit path, only not on a signal).
    public static func register(_ path: String) -> Int? {
        _ = (slots, messageSIGINT, messageSIGTERM, messageSIGHUP)   // initialise before any handler can run
        return lock.withLock { installed -> Int? in
            if !installed {
                for sig in [SIGINT, SIGTERM, SIGHUP] { install(sig) }
                // A process started from a thread that blocks signals (a dispatch worker, for one) inherits the
                // block; without this the handler would never run and an interrupted run would hang or leave files.
                var set = sigset_t()
                sigemptyset(&set)
                for sig in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, sig) }
                pthread_sigmask(SIG_UNBLOCK, &set, nil)
                installed = true
            }
            for i in 0 ..< capacity where slots[i] == nil {
                slots[i] = strdup(path)
                return i
            }
            return nil
        }
    }

    /// Forgets the path in `slot` (after it was renamed or removed).
    public static func unregister(_ slot: Int?) {
        guard let slot else { return }
        lock.withLock { _ in slots[slot] = nil }
    }

    private static func install(_ sig: Int32) {
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = { sig in InterruptCleanup.handle(sig) }
        #else
        action.__sigaction_u.__sa_handler = { sig in InterruptCleanup.handle(sig) }
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(sig, &action, nil)
    }

    /// The signal handler: async-signal-safe calls only.
    private static func handle(_ sig: Int32) {
        for i in 0 ..< capacity {
            if let p = slots[i] { unlink(p) }
        }
        let m = sig == SIGINT ? messageSIGINT : sig == SIGTERM ? messageSIGTERM : messageSIGHUP
        _ = write(2, m, strlen(m))
        _exit(128 + sig)
    }
}

/// Temp files left by processes that were killed outright (SIGKILL, power loss): `.<name>.kiln-tmp.<pid>` whose
/// process no longer exists. They are removed when a later run writes into the same directory.
enum StaleTempFiles {
    static func remove(in directory: String) {
        guard let d = opendir(directory) else { return }
        defer { closedir(d) }
        let me = getpid()
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            guard name.hasPrefix("."), let pidText = name.split(separator: ".").last, name.hasSuffix(".kiln-tmp.\(pidText)"),
                  let pid = Int32(pidText), pid > 0, pid != me else { continue }
            // kill(pid, 0) fails with ESRCH only when no such process exists (EPERM: it exists, owned by another user).
            if kill(pid, 0) != 0 && errno == ESRCH {
                unlink(directory + "/" + name)
            }
        }
    }
}
