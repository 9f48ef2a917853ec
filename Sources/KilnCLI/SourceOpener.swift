import FlaxCheckpoint
import GGUFWriter
import KilnCore
import Safetensors

/// Opens any supported input by looking at it: a GGUF file (magic), a safetensors file or directory, or an
/// Orbax/Flax checkpoint directory.
public enum SourceOpener {
    /// The model behind `path`, as `convert`, `chat` and `verify` read it: an Orbax checkpoint's model parameters
    /// under the Kaggle release's names whatever its tree layout (`step`: a CheckpointManager step).
    public static func open(_ path: String, step: Int? = nil) throws -> any TensorSource {
        try open(path, stored: false, step: step)
    }

    /// The input as stored, for `inspect`: an Orbax checkpoint's every array under its own name.
    public static func openStored(_ path: String) throws -> any TensorSource {
        try open(path, stored: true, step: nil)
    }

    static func open(_ path: String, stored: Bool, step: Int?) throws -> any TensorSource {
        guard FileIdentity.exists(path) else { throw KilnError(.notFound, "no such file or directory", file: path) }
        if FileIdentity.isDirectory(path) {
            if SafetensorsCheckpoint.looksLikeCheckpoint(directory: path) {
                return try SafetensorsCheckpoint(path: path)
            }
            return stored ? try OrbaxCheckpoint(path: path) : try openOrbax(path, step: step)
        }
        if let step {
            throw KilnError(.usage, "--step \(step) applies to an Orbax CheckpointManager directory, not to a file", file: path)
        }
        let file = try MappedFile(path: path)
        if file.count >= 4, Array(file.bytes[0 ..< 4]) == GGUFFile.magic {
            return try GGUFFile(mapped: file)
        }
        if path.hasSuffix(".safetensors") || SafetensorsCheckpoint.looksLikeFile(file) {
            return try SafetensorsCheckpoint(path: path)
        }
        throw KilnError(.badMagic, "not a GGUF, safetensors or Orbax checkpoint", file: path, offset: 0)
    }
}

extension SafetensorsCheckpoint {
    /// True when a directory holds `.safetensors` files or a safetensors index.
    static func looksLikeCheckpoint(directory: String) -> Bool {
        if FileIdentity.exists(directory + "/model.safetensors.index.json") { return true }
        return DirectoryListing.names(in: directory).contains { $0.hasSuffix(".safetensors") }
    }

    /// True when the first bytes are a plausible safetensors header length followed by '{'.
    static func looksLikeFile(_ f: MappedFile) -> Bool {
        guard f.count >= 9 else { return false }
        let n = f.bytes.loadUnaligned(as: UInt64.self)
        return n > 0 && n <= UInt64(f.count - 8) && f.bytes[8] == UInt8(ascii: "{")
    }
}
