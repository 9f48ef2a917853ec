import ArgumentParser

/// `--step N` for commands that read a source checkpoint (convert, chat, verify): which step of an Orbax
/// CheckpointManager directory (`<step>/`, Kauldron's `ckpt_<step>/`) to read.
public struct StepArgument: ParsableArguments {
    @Option(help: "Orbax CheckpointManager directories: read this step (default: the newest committed step).")
    public var step: Int?

    public init() {}

    public func validate() throws {
        if let step, step < 0 { throw ValidationError("--step must be 0 or more") }
    }
}
