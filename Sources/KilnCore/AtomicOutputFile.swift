#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A buffered output file that appears at its final path only when complete.
///
/// Bytes go to a hidden temp file `.<name>.kiln-tmp.<pid>` in the destination directory (so the final rename is
/// atomic on the same file system), created with `O_EXCL`. `commit()` flushes, fsyncs, renames and fsyncs the
/// directory; dropping the object without committing deletes the temp file. While it exists the temp path is
/// registered with `InterruptCleanup`, so SIGINT/SIGTERM remove it too; after a SIGKILL only the temp file (named
/// with the dead process's id) remains, and the next output written to that directory removes it.
public final class AtomicOutputFile {
    public let path: String
    public let tempPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20
    /// Bytes written so far (including buffered ones).
    public private(set) var position: Int = 0
    private var committed = false
    private let cleanupSlot: Int?
    private let directory: String

    /// The temp-file name for `base` written by process `pid`.
    public static func tempName(for base: String, pid: Int32 = getpid()) -> String { ".\(base).kiln-tmp.\(pid)" }

    /// Creates the temp file. Refuses to write over any of `inputs` (compared by resolved path and inode).
    public init(path: String, inputs: [String] = []) throws {
        self.path = path
        for input in inputs where FileIdentity.same(path, input) {
            throw KilnError(.usage, "output path is the same file as the input \(input); choose another output", file: path)
        }
        for input in inputs where FileIdentity.isDirectory(input) && FileIdentity.isInside(path, directory: input) {
            throw KilnError(.usage, "output path lies inside the input checkpoint directory \(input); choose another output", file: path)
        }
        let dir: String
        let base: String
        if let slash = path.lastIndex(of: "/") {
            dir = String(path[..<slash]).isEmpty ? "/" : String(path[..<slash])
            base = String(path[path.index(after: slash)...])
        } else {
            dir = "."
            base = path
        }
        guard !base.isEmpty else { throw KilnError(.usage, "output path names a directory", file: path) }
        directory = dir
        StaleTempFiles.remove(in: dir)
        tempPath = "\(dir)/\(AtomicOutputFile.tempName(for: base))"
        // Registered before the file exists, so a signal arriving in between cannot leave it behind.
        cleanupSlot = InterruptCleanup.register(tempPath)
        var f = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if f < 0 && errno == EEXIST {
            // Our own name: a file left by an earlier process that had this process id. It is not in use.
            unlink(tempPath)
            f = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        }
        guard f >= 0 else {
            let msg = String(cString: strerror(errno))
            InterruptCleanup.unregister(cleanupSlot)
            throw KilnError(.io, "cannot create temporary output \(tempPath): \(msg)", file: path)
        }
        fd = f
        buffer.reserveCapacity(bufferLimit)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        position += bytes.count
        if buffer.count + bytes.count > bufferLimit {
            try flush()
            if bytes.count >= bufferLimit {
                try writeAll(bytes)
                return
            }
        }
        buffer.append(contentsOf: bytes)
    }

    public func write(_ bytes: [UInt8]) throws {
        do {
            try bytes.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws in try write(b) }
        }
    }

    public func writeZeros(_ count: Int) throws {
        guard count > 0 else { return }
        try write([UInt8](repeating: 0, count: count))
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        let pending = buffer
        buffer.removeAll(keepingCapacity: true)
        do {
            try pending.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws in try writeAll(b) }
        }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw KilnError(.usage, "write after the output was completed", file: path) }
        var done = 0
        while done < bytes.count {
            let n = TestHooks.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                throw KilnError(.io, "write failed: \(String(cString: strerror(code)))\(code == ENOSPC ? " (the disk is full)" : ""); "
                                + "the incomplete output was removed", file: path)
            }
            done += n
        }
    }

    /// Flushes and fsyncs the temp file and closes it: everything is on disk, only the rename is left. Lets a
    /// caller finish several outputs before renaming any (`commit()` calls it when needed).
    public func complete() throws {
        guard fd >= 0 else { return }
        try flush()
        guard fsync(fd) == 0 else { throw KilnError(.io, "fsync failed: \(String(cString: strerror(errno)))", file: tempPath) }
        close(fd)
        fd = -1
    }

    /// Completes the temp file, renames it onto `path` atomically and fsyncs the directory so the rename is durable.
    public func commit() throws {
        try complete()
        guard rename(tempPath, path) == 0 else {
            let msg = String(cString: strerror(errno))
            unlink(tempPath)
            throw KilnError(.io, "cannot rename \(tempPath) to the output: \(msg)", file: path)
        }
        committed = true
        InterruptCleanup.unregister(cleanupSlot)
        let d = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if d >= 0 {
            defer { close(d) }
            guard fsync(d) == 0 else { throw KilnError(.io, "fsync of the output directory failed: \(String(cString: strerror(errno)))", file: path) }
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed {
            unlink(tempPath)
            InterruptCleanup.unregister(cleanupSlot)
        }
    }
}

/// File identity checks (same inode and device), used to refuse writing over an input.
public enum FileIdentity {
    public static func same(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    public static func isDirectory(_ path: String) -> Bool {
        var s = stat()
        return stat(path, &s) == 0 && (s.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether `path` (which need not exist) resolves to a location inside `directory`.
    public static func isInside(_ path: String, directory: String) -> Bool {
        guard let dir = realPath(directory) else { return false }
        let parent: String
        if let slash = path.lastIndex(of: "/") { parent = String(path[..<slash]).isEmpty ? "/" : String(path[..<slash]) } else { parent = "." }
        guard let p = realPath(parent) else { return false }
        return p == dir || p.hasPrefix(dir.hasSuffix("/") ? dir : dir + "/")
    }

    public static func realPath(_ path: String) -> String? {
        guard let r = realpath(path, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    public static func exists(_ path: String) -> Bool {
        var s = stat()
        return stat(path, &s) == 0
    }
}
