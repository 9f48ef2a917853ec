import KilnCore

/// Renders a conversation the way Gemma 3's official `tokenizer.chat_template` does (the template `convert`
/// writes): `<start_of_turn>{user|model}\n{trimmed content}<end_of_turn>\n` per message, a leading system message
/// folded into the first user turn followed by "\n\n". BOS is not part of the text.
enum ChatRendering {
    /// One rendered turn: where its content (plus `<end_of_turn>`) starts and ends in the text.
    struct Turn {
        var isModel: Bool
        /// The text up to the first character of the content.
        var prefixEnd: String.Index
        /// The text up to and including `<end_of_turn>`.
        var contentEnd: String.Index
    }

    static func render(_ messages: [ChatMessage]) throws(KilnError) -> (text: String, turns: [Turn]) {
        var list = messages
        var system = ""
        if let first = list.first, first.role == "system" {
            system = trim(first.content) + "\n\n"
            list.removeFirst()
        }
        var text = ""
        var turns: [Turn] = []
        for (i, m) in list.enumerated() {
            let role: String
            switch m.role {
            case "user": role = "user"
            case "assistant", "model": role = "model"
            default: throw KilnError(.usage, "chat message \(i + 1): role '\(m.role)' (expected user, assistant or model; system only first)")
            }
            text += "<start_of_turn>\(role)\n" + (i == 0 ? system : "")
            let start = text.endIndex
            text += trim(m.content) + "<end_of_turn>"
            turns.append(Turn(isModel: role == "model", prefixEnd: start, contentEnd: text.endIndex))
            text += "\n"
        }
        return (text, turns)
    }

    /// Jinja's `trim`.
    static func trim(_ s: String) -> String {
        var sub = Substring(s)
        while let f = sub.first, f.isWhitespace { sub.removeFirst() }
        while let l = sub.last, l.isWhitespace { sub.removeLast() }
        return String(sub)
    }
}
