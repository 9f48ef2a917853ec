/// A token sequence both models run, and which of its positions count: position `i` in `scored` compares the
/// logits computed at token `i`, i.e. the prediction of token `i + 1`.
public struct ScoredSequence: Sendable, Equatable {
    public var label: String
    public var tokens: [Int32]
    /// Ascending positions in `0 ..< tokens.count - 1`.
    public var scored: [Int]

    public init(label: String, tokens: [Int32], scored: [Int]) {
        self.label = label
        self.tokens = tokens
        self.scored = scored
    }

    /// The token each scored position predicts.
    public func target(ofScored i: Int) -> Int32 { tokens[scored[i] + 1] }
}

/// One entry of a prompt set before tokenization.
public enum PromptItem: Sendable, Equatable {
    /// Plain text: BOS + text, every position after the first scored.
    case raw(String)
    /// A conversation through the Gemma 3 chat template; the positions predicting model turns are scored.
    case chat([ChatMessage])
}

/// A chat message as in an OpenAI-style list: role "system", "user", "assistant" (or "model").
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}
