import Conversion
import KilnCore
import RefInference

/// The GGUF-named float32 view of any source (checkpoint or GGUF) and its engine config, through the converter's
/// own mapping (`ConvertedTensorView`), with padded embedding rows trimmed to `vocabularySize` as `convert` does.
enum FloatView {
    static func open(_ source: any TensorSource, vocabularySize: Int?) throws -> (view: any TensorSource, config: GemmaConfig) {
        let view = try ConvertedTensorView(source: source, vocabularySize: vocabularySize)
        return (view, view.config)
    }
}
