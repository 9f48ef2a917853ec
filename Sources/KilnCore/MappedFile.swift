#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file; tensor data is handed out as views into it, never copied.
///
/// `Data(contentsOf:options:.mappedIfSafe)` reads the whole file into anonymous memory on Linux, so Kiln maps
/// files itself. The mapping lives as long as this object; views must not outlive it.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// The whole file. Empty files give an empty buffer.
    public let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?
    /// False for in-memory copies (`init(copying:path:)`), which are freed instead of unmapped.
    private var isMapped = true

    public init(path: String) throws(KilnError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw KilnError(.io, "cannot open: \(String(cString: strerror(errno)))", file: path)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw KilnError(.io, "cannot stat: \(String(cString: strerror(errno)))", file: path)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw KilnError(.io, "not a regular file", file: path)
        }
        let size = Int(st.st_size)
        if size == 0 {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw KilnError(.io, "cannot map \(size) bytes: \(String(cString: strerror(errno)))", file: path)
        }
        _ = madvise(p, size, MADV_WILLNEED)
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    /// A private in-memory copy of `bytes` standing in for a file named `path` (tests and fuzzers parse mutated
    /// files this way without writing them to disk).
    public init(copying source: UnsafeRawBufferPointer, path: String) {
        self.path = path
        if source.isEmpty {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
        } else {
            let p = UnsafeMutableRawPointer.allocate(byteCount: source.count, alignment: 64)
            p.copyMemory(from: source.baseAddress!, byteCount: source.count)
            base = p
            bytes = UnsafeRawBufferPointer(start: p, count: source.count)
        }
        isMapped = false
    }

    public var count: Int { bytes.count }

    /// A cursor over the file for structured parsing.
    public func cursor(at offset: Int = 0) -> ByteCursor {
        ByteCursor(bytes, offset: offset, file: path)
    }

    /// A view of `range`, checked against the file size.
    public func slice(_ range: Range<Int>, _ what: @autoclosure () -> String) throws(KilnError) -> UnsafeRawBufferPointer {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else {
            throw KilnError(.truncated, "\(what()) spans bytes \(range.lowerBound)..<\(range.upperBound) but the file has \(bytes.count)",
                            file: path, offset: range.lowerBound)
        }
        return UnsafeRawBufferPointer(rebasing: bytes[range])
    }

    /// Lets the kernel drop the resident pages under `view` (a view into this file) once it has been consumed, so
    /// streaming through a large file does not grow the resident set; later reads fault the pages back in.
    public func releasePages(of view: UnsafeRawBufferPointer) {
        guard isMapped, let base, let start = view.baseAddress, view.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let offset = start - UnsafeRawPointer(base)
        guard offset >= 0, offset + view.count <= bytes.count else { return }
        let lo = offset / page * page
        let hi = min((offset + view.count + page - 1) / page * page, bytes.count)
        _ = madvise(base + lo, hi - lo, MADV_DONTNEED)
    }

    deinit {
        guard let base else { return }
        if isMapped { munmap(base, bytes.count) } else { base.deallocate() }
    }
}
