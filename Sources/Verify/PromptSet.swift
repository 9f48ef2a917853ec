import Foundation
import KilnCore
import RefInference
import Tokenizers

/// Turns prompt items, JSON prompt files and perplexity-style text into scored token sequences, with the
/// candidate GGUF's tokenizer (llama.cpp-exact), so both models see the same ids.
public enum PromptSet {
    /// Parses `--prompts FILE`: a JSON list whose items are a string (raw text) or a list of {"role", "content"}.
    public static func parse(json data: Data, file: String) throws(KilnError) -> [PromptItem] {
        guard let list = (try? JSONSerialization.jsonObject(with: data)) as? [Any] else {
            throw KilnError(.invalid, "expected a JSON list of prompts (strings or lists of {\"role\", \"content\"})", file: file)
        }
        var items: [PromptItem] = []
        for (i, entry) in list.enumerated() {
            if let s = entry as? String {
                items.append(.raw(s))
            } else if let turns = entry as? [Any] {
                var messages: [ChatMessage] = []
                for (j, t) in turns.enumerated() {
                    guard let o = t as? [String: Any], let role = o["role"] as? String, let content = o["content"] as? String else {
                        throw KilnError(.invalid, "item \(i + 1), message \(j + 1): expected {\"role\": string, \"content\": string}", file: file)
                    }
                    messages.append(ChatMessage(role: role, content: content))
                }
                guard messages.contains(where: { $0.role == "assistant" || $0.role == "model" }) else {
                    throw KilnError(.invalid, "item \(i + 1): a chat needs at least one assistant (model) turn to score", file: file)
                }
                items.append(.chat(messages))
            } else {
                throw KilnError(.invalid, "item \(i + 1): expected a string or a list of messages", file: file)
            }
        }
        guard !items.isEmpty else { throw KilnError(.invalid, "the prompt list is empty", file: file) }
        return items
    }

    /// Tokenizes items: raw text as BOS + text (every position after the first scored), chats through the Gemma
    /// template with the positions that predict model-turn tokens (content and `<end_of_turn>`) scored.
    public static func sequences(_ items: [PromptItem], tokenizer: SPMTokenizer) throws(KilnError) -> [ScoredSequence] {
        var out: [ScoredSequence] = []
        for (i, item) in items.enumerated() {
            switch item {
            case .raw(let text):
                let tokens = tokenizer.tokenize(text, addBOS: true, parseSpecial: false)
                guard tokens.count >= 2 else { throw KilnError(.invalid, "prompt \(i + 1) has fewer than two tokens") }
                out.append(ScoredSequence(label: "text \(i + 1)", tokens: tokens, scored: Array(0 ..< tokens.count - 1)))
            case .chat(let messages):
                out.append(try chatSequence(messages, label: "chat \(i + 1)", tokenizer: tokenizer))
            }
        }
        return out
    }

    static func chatSequence(_ messages: [ChatMessage], label: String, tokenizer: SPMTokenizer) throws(KilnError) -> ScoredSequence {
        let (text, turns) = try ChatRendering.render(messages)
        let tokens = tokenizer.tokenize(text, addBOS: true, parseSpecial: true)
        var scored: [Int] = []
        for turn in turns where turn.isModel {
            // Token boundaries from prefix tokenizations; the template's special tokens keep them stable.
            let a = tokenizer.tokenize(String(text[..<turn.prefixEnd]), addBOS: true, parseSpecial: true)
            let b = tokenizer.tokenize(String(text[..<turn.contentEnd]), addBOS: true, parseSpecial: true)
            guard tokens.starts(with: b), tokens.starts(with: a), a.count >= 1, b.count > a.count else {
                throw KilnError(.invalid, "\(label): a model turn's tokens do not line up with the whole conversation's")
            }
            scored += (a.count - 1) ..< (b.count - 1)
        }
        return ScoredSequence(label: label, tokens: tokens, scored: scored)
    }

    /// `--text FILE --ctx N`, as `llama-perplexity` scores: the text tokenized once with BOS, cut into
    /// ⌊tokens / N⌋ chunks of N tokens, each chunk's first token replaced by BOS, positions N/2 … N−2 scored.
    public static func textChunks(_ text: String, context n: Int, tokenizer: SPMTokenizer, file: String) throws(KilnError) -> (sequences: [ScoredSequence], tokens: [Int32]) {
        guard n >= 4 else { throw KilnError(.usage, "--ctx must be at least 4") }
        let all = tokenizer.tokenize(text, addBOS: true, parseSpecial: false)
        let chunks = all.count / n
        guard chunks >= 1 else {
            throw KilnError(.invalid, "the text tokenizes to \(all.count) tokens, fewer than one chunk of --ctx \(n)", file: file)
        }
        var out: [ScoredSequence] = []
        for c in 0 ..< chunks {
            var t = Array(all[c * n ..< (c + 1) * n])
            if tokenizer.vocabulary.addBOS { t[0] = tokenizer.vocabulary.bosID }
            out.append(ScoredSequence(label: "chunk \(c + 1)", tokens: t, scored: Array(n / 2 ..< n - 1)))
        }
        return (out, Array(all[0 ..< chunks * n]))
    }
}
