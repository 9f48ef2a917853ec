/// A vocabulary entry's type, numbered as both SentencePiece's `ModelProto.SentencePiece.Type` and llama.cpp's
/// `llama_token_type` (the values stored in GGUF `tokenizer.ggml.token_type`).
public enum TokenType: Int32, Sendable, CaseIterable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}
