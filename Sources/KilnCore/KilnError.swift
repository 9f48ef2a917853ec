/// The one error type every Kiln reader and writer throws: what went wrong, and where (file, tensor, byte offset).
///
/// Messages are written for the person at the terminal: they name the file and, when known, the tensor and the
/// byte offset, so a bad download can be found without a debugger.
public struct KilnError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The broad class of failure; tests match on it.
    public enum Kind: String, Sendable, Equatable {
        case io              // open/read/write/rename failed
        case truncated       // the file ends before a structure it announces
        case badMagic        // not the format we were told (or guessed) it is
        case unsupported     // a valid file using something Kiln does not implement
        case invalid         // a structurally impossible value (absurd count, overlap, bad UTF-8 ...)
        case checksum        // CRC mismatch
        case notFound        // a named tensor/key/file that does not exist
        case usage           // the user asked for something contradictory
        case numeric         // NaN/Inf or off-grid values where they are not allowed
    }

    public var kind: Kind
    public var message: String
    public var file: String?
    public var offset: Int?
    public var tensor: String?

    public init(_ kind: Kind, _ message: String, file: String? = nil, offset: Int? = nil, tensor: String? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.offset = offset
        self.tensor = tensor
    }

    /// The same error with a file name filled in where none was set (readers wrap lower-level errors with it).
    public func inFile(_ path: String) -> KilnError {
        var copy = self
        if copy.file == nil { copy.file = path }
        return copy
    }

    /// The same error naming a tensor, where none was set.
    public func inTensor(_ name: String) -> KilnError {
        var copy = self
        if copy.tensor == nil { copy.tensor = name }
        return copy
    }

    public var description: String {
        var parts: [String] = []
        if let file { parts.append(file) }
        if let tensor { parts.append("tensor '\(tensor)'") }
        if let offset { parts.append("byte offset \(offset)") }
        let location = parts.isEmpty ? "" : parts.joined(separator: ", ") + ": "
        return "\(location)\(message)"
    }
}
