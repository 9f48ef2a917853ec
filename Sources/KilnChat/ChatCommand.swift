import ArgumentParser
import ChatKit
import GGUFWriter
import KilnCore
import RefInference
import Tokenizers

@main
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with (or complete text from) a Gemma 3 GGUF model on Kiln's reference engine.",
        discussion: """
        The chat format is Gemma 3's, built in (no Jinja engine): \
        <start_of_turn>user\\n{content}<end_of_turn>\\n<start_of_turn>model\\n, with --system folded into the first \
        user turn followed by a blank line and BOS added per tokenizer.ggml.add_bos_token. When the file's \
        tokenizer.chat_template is a Gemma template this is equivalent. Interactive commands: /reset, /exit. \
        Generation stops at <end_of_turn>, EOS or -n tokens; the last stderr line reports prompt and decode speed.
        """)

    @Argument(help: "The GGUF model (architecture gemma3).")
    var model: String

    @OptionGroup var options: ChatOptions

    func validate() throws {
        if options.dumpLogits != nil && options.prompt == nil && options.tokens == nil { throw ValidationError("--dump-logits needs -p TEXT or --tokens IDS") }
        if options.ctx <= 0 || options.threads <= 0 || options.batch <= 0 { throw ValidationError("--ctx, --threads and --batch must be positive") }
        if options.maxTokens < 0 { throw ValidationError("-n must not be negative") }
    }

    func run() throws {
        let file = try GGUFFile(path: model)
        let tokenizer = try SPMTokenizer(metadata: file.metadata, file: model)
        if options.tokenize {
            try TokenizeMode.run(tokenizer: tokenizer, addBOS: !options.noBos, parseSpecial: !options.noSpecial)
            return
        }
        var engineOptions = EngineOptions(threads: options.threads, contextLength: options.ctx,
                                          path: options.reference ? .reference : .fast, batchSize: options.batch)
        if let trained = file.metadata[key: GGUFKey.Model(GemmaConfig.architecture).contextLength]?.intValue { engineOptions.contextLength = min(options.ctx, trained) }
        let engine = try GemmaEngine(gguf: file, options: engineOptions)
        let session = ChatSession(engine: engine, tokenizer: tokenizer, settings: options.settings)
        if let out = options.dumpLogits {
            try session.dumpLogits(prompt: options.prompt ?? "", tokenList: options.tokens, to: out, modelPath: model)
            return
        }
        if let template = file.metadata[key: GGUFKey.Tokenizer.chatTemplate]?.stringValue, !options.raw,
           !GemmaChatFormat.isGemmaTemplate(template) {
            Terminal.error("warning: the file's chat template is not Gemma's; using the built-in Gemma 3 format")
        }
        if let prompt = options.prompt {
            try session.reply(to: prompt, output: Terminal.output)
            Terminal.output([0x0A])  // same unbuffered stream as the reply, so it lands before the stats line
        } else {
            try ChatREPL(session: session).run()
        }
        Terminal.error(session.stats.summary)
    }
}
