import Conversion
import KilnCore
import RefInference

/// The GGUF-named float32 view of any source (checkpoint or GGUF) and its engine config, through the converter's
/// own mapping (`ConvertedTensorView`), with padded embedding rows trimmed to `vocabularySize` as `convert` does.
enum FloatView {
    static func open(_ source: any TensorSource, vocabularySize: Int?) throws -> (view: any TensorSource, config: GemmaConfig) {
        let view = try ConvertedTensorView(source: source, vocabularySize: vocabularySize)
        return (view, try view.gemmaConfig())
    }
}

extension ConvertedTensorView {
    /// The engine configuration of the viewed model: the converter's metadata (or the GGUF's own) read back by the
    /// engine's own reader, so a checkpoint gets exactly the config its GGUF conversion would.
    public func gemmaConfig() throws(KilnError) -> GemmaConfig {
        try GemmaConfig(metadata: metadata, vocabularySize: vocabularySize, file: path)
    }
}
