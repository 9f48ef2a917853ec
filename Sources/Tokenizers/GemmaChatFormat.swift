/// Gemma 3's chat format, as the official `tokenizer.chat_template` renders it (without a Jinja engine):
/// `<start_of_turn>user\n{content}<end_of_turn>\n<start_of_turn>model\n`; a system prompt is folded into the first user
/// turn followed by "\n\n"; contents are trimmed; BOS is not part of the text (the tokenizer adds it per add_bos_token).
public enum GemmaChatFormat {
    /// The text of one user turn plus the generation prompt. `previousModelTurnOpen` closes an unfinished model
    /// turn first (`<end_of_turn>\n`), as happens after a reply that stopped at `<end_of_turn>` without feeding it.
    public static func userTurn(_ content: String, system: String? = nil, closingPreviousModelTurn: Bool = false) -> String {
        var s = closingPreviousModelTurn ? "<end_of_turn>\n" : ""
        s += "<start_of_turn>user\n"
        if let system, !system.isEmpty { s += system.trimmingWhitespace() + "\n\n" }
        s += content.trimmingWhitespace() + "<end_of_turn>\n<start_of_turn>model\n"
        return s
    }

    /// Whether a GGUF `tokenizer.chat_template` is a Gemma template the built-in format reproduces.
    public static func isGemmaTemplate(_ template: String) -> Bool {
        template.contains("<start_of_turn>") && template.contains("<end_of_turn>")
    }
}

extension String {
    /// Jinja's `trim`: strips leading and trailing whitespace.
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
