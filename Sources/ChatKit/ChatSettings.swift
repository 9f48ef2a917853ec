import RefInference

/// What a chat session needs to know besides the engine and tokenizer (the `chat` command's options map onto it).
public struct ChatSettings: Sendable {
    /// System prompt, folded into the first user turn as Gemma 3's template does.
    public var system: String?
    /// Plain completion: the text is tokenized as is, no chat format.
    public var raw = false
    /// Maximum tokens generated per reply.
    public var maxTokens = 256
    /// Never end a reply early: `<end_of_turn>` and EOS are never sampled, so exactly `maxTokens` are generated
    /// (llama.cpp's `--ignore-eos`, which biases every end-of-generation token to -inf).
    public var ignoreEOS = false
    public var sampler: SamplerSettings

    public init(system: String? = nil, raw: Bool = false, maxTokens: Int = 256, ignoreEOS: Bool = false, sampler: SamplerSettings) {
        self.system = system
        self.raw = raw
        self.maxTokens = maxTokens
        self.ignoreEOS = ignoreEOS
        self.sampler = sampler
    }
}
