import FlaxCheckpoint
import KilnCore

extension SourceOpener {
    /// An Orbax checkpoint's model parameters under the release's FLAT names (`FlaxModelParams`), whatever tree
    /// layout the `gemma` library or Kauldron saved; `step` picks a CheckpointManager step.
    static func openOrbax(_ path: String, step: Int?) throws -> any TensorSource {
        try FlaxModelParams(try OrbaxCheckpoint(path: path, step: step))
    }
}

extension TensorSource {
    /// The Orbax checkpoint behind this source, if it is one (directly or as its model parameters).
    public var orbaxCheckpoint: OrbaxCheckpoint? {
        (self as? OrbaxCheckpoint) ?? (self as? FlaxModelParams)?.checkpoint
    }
}
