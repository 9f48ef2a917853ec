import Conversion
import KilnCore
import RefInference

/// The GGUF-named float32 view of any source (checkpoint or GGUF) and its engine config, through the converter's
/// own mapping (`ConvertedTensorView`), with padded embedding rows trimmed to `vocabularySize` as `convert` does.
enum FloatView {
    static func open(_ source: any TensorSource, vocabularySize: Int?) throws -> (view: any TensorSource, config: GemmaConfig) {
        let view = try ConvertedTensorView(source: source, vocabularySize: vocabularySize)
        // The converter's metadata read back by the engine's own reader: the same config as the GGUF would give.
        let config = try GemmaConfig(metadata: view.metadata, vocabularySize: view.vocabularySize, file: source.path)
        return (view, config)
    }
}
