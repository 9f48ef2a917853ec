#if canImport(Glibc)
import Glibc
#endif

/// Gemma's tanh soft-capping of logits (the final logits of Gemma 2 and of Gemma 3 checkpoints that set it; Gemma 2's
/// attention scores go through the same formula inside `attend`).
extension GemmaNumerics {
    /// `x = tanh(x · (1/cap)) · cap` in float32, in place: llama.cpp's `ggml_scale(1/cap)`, `ggml_tanh` (`tanhf`),
    /// `ggml_scale(cap)` on CPU (`build_gemma2`/`build_gemma3` result_output). transformers divides by `cap` instead
    /// of multiplying by its float reciprocal, a difference of at most one float rounding before the tanh.
    public static func softCap(_ x: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
        let inverse = 1 / cap
        for i in 0 ..< count { x[i] = tanhf(x[i] * inverse) * cap }
    }
}
