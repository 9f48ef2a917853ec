import Testing
import Tokenizers

/// The Gemma 3 chat format: a user turn as the official `chat_template` renders it, and template recognition.
struct GemmaChatFormatTests {
    @Test func chatFormat() {
        #expect(GemmaChatFormat.userTurn(" Hi ", system: "Be brief.") == "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n")
        #expect(GemmaChatFormat.userTurn("Again", closingPreviousModelTurn: true) == "<end_of_turn>\n<start_of_turn>user\nAgain<end_of_turn>\n<start_of_turn>model\n")
        #expect(GemmaChatFormat.isGemmaTemplate(GemmaChatTemplate.gemma3))
    }
}
