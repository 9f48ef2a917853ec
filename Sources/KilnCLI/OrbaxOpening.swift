import FlaxCheckpoint
import KilnCore

extension SourceOpener {
    static func openOrbax(_ path: String) throws -> any TensorSource {
        try OrbaxCheckpoint(path: path)
    }
}
