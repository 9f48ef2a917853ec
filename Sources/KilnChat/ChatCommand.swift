import ArgumentParser
import ChatKit
import GGUFWriter
import KilnCLI
import KilnCore
import RefInference
import Tokenizers

@main
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with (or complete text from) a Gemma GGUF model (gemma3, gemma2, gemma), or a source checkpoint in float32, on Kiln's reference engine.",
        discussion: """
        The chat format is Gemma's (the same turns for Gemma 1, 2 and 3), built in (no Jinja engine): \
        <start_of_turn>user\\n{content}<end_of_turn>\\n<start_of_turn>model\\n, with --system folded into the first \
        user turn followed by a blank line and BOS added per tokenizer.ggml.add_bos_token. When the file's \
        tokenizer.chat_template is a Gemma template this is equivalent. Interactive commands: /reset, /exit, /image FILE (attaches an image to the next message). \
        --image FILE places images before the -p text of the same user turn, framed as llama.cpp's libmtmd frames a \
        Gemma 3 image; the vision projector is --mmproj FILE, else mmproj-<model name>.gguf beside the model, else \
        the only mmproj*.gguf in its folder. \
        Generation stops at <end_of_turn>, EOS or -n tokens (with --ignore-eos only at -n); the last stderr line reports prompt and decode speed.         A source checkpoint (Kaggle Orbax/Flax directory, safetensors file or directory) runs in float32 with         its family's reference math, its weights converted in memory exactly as `convert` maps them; when they would         not fit in memory, `verify` checks such a checkpoint layer by layer instead.
        """)

    @Argument(help: "The model: a GGUF (architecture gemma3, gemma2 or gemma), or a Gemma checkpoint (Orbax directory, safetensors).")
    var model: String

    @OptionGroup var options: ChatOptions

    func validate() throws {
        if options.dumpLogits != nil && options.prompt == nil && options.tokens == nil { throw ValidationError("--dump-logits needs -p TEXT or --tokens IDS") }
        if options.ctx <= 0 || options.threads <= 0 || options.batch <= 0 { throw ValidationError("--ctx, --threads and --batch must be positive") }
        if options.maxTokens < 0 { throw ValidationError("-n must not be negative") }
        if !options.image.isEmpty && (options.tokenize || options.dumpLogits != nil) {
            throw ValidationError("--image works with -p TEXT or the interactive chat, not --tokenize or --dump-logits")
        }
    }

    func run() throws {
        let engineOptions = EngineOptions(threads: options.threads, contextLength: options.ctx,
                                          path: options.reference ? .reference : .fast, batchSize: options.batch)
        let loaded = try ChatModel.open(model, options: engineOptions, tokenizer: options.tokenizer, step: options.step.step)
        if options.tokenize {
            try TokenizeMode.run(tokenizer: loaded.tokenizer, addBOS: !options.noBos, parseSpecial: !options.noSpecial)
            return
        }
        let session = ChatSession(engine: loaded.engine, tokenizer: loaded.tokenizer, settings: options.settings)
        if let out = options.dumpLogits {
            try session.dumpLogits(prompt: options.prompt ?? "", tokenList: options.tokens, to: out, modelPath: loaded.inputPath)
            return
        }
        if let template = loaded.metadata[key: GGUFKey.Tokenizer.chatTemplate]?.stringValue, !options.raw,
           !GemmaChatFormat.isGemmaTemplate(template) {
            Terminal.error("warning: the file's chat template is not Gemma's; using the built-in Gemma 3 format")
        }
        // Images are decoded before the model's vision tower is loaded, so a bad file is reported at once.
        let images = try options.image.map { (path) throws(KilnError) in try RGBImage.load(path: path) }
        if !images.isEmpty || options.mmproj != nil {
            session.vision = try loaded.openVision(mmproj: options.mmproj, options: engineOptions)
        }
        if let prompt = options.prompt {
            try session.reply(to: prompt, images: images, output: Terminal.output)
            Terminal.output([0x0A])  // same unbuffered stream as the reply, so it lands before the stats line
        } else {
            var repl = ChatREPL(session: session, pendingImages: images) {
                try loaded.openVision(mmproj: options.mmproj, options: engineOptions)
            }
            try repl.run()
        }
        Terminal.error(session.stats.summary)
    }
}
