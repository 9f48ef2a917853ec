import RefInference

/// What a chat session needs to know besides the engine and tokenizer (the `chat` command's options map onto it).
public struct ChatSettings: Sendable {
    /// System prompt, folded into the first user turn as Gemma 3's template does.
    public var system: String?
    /// Plain completion: the text is tokenized as is, no chat format.
    public var raw = false
    /// Maximum tokens generated per reply.
    public var maxTokens = 256
    public var sampler: SamplerSettings

    public init(system: String? = nil, raw: Bool = false, maxTokens: Int = 256, sampler: SamplerSettings) {
        self.system = system
        self.raw = raw
        self.maxTokens = maxTokens
        self.sampler = sampler
    }
}
