import ChatKit
import Foundation
import KilnCore
import RefInference

/// The interactive loop: one line per user turn, `/reset`, `/exit` and `/image FILE` commands, replies streamed as
/// generated. Images attached with `/image` (or `--image`) go before the text of the next message, in order, as
/// llama-mtmd-cli's REPL places them.
struct ChatREPL {
    let session: ChatSession
    /// Images waiting for the next message.
    var pendingImages: [RGBImage] = []
    /// Loads the vision encoder on the first `/image` when none is loaded yet.
    let loadVision: () throws -> any VisionEncoder

    init(session: ChatSession, pendingImages: [RGBImage] = [], loadVision: @escaping () throws -> any VisionEncoder) {
        self.session = session
        self.pendingImages = pendingImages
        self.loadVision = loadVision
    }

    mutating func run() throws {
        let tty = isatty(0) == 1
        if tty { Terminal.error("chat: /image FILE attaches an image to the next message, /reset starts over, /exit (or Ctrl-D) quits") }
        while true {
            if tty { Terminal.output(Array("> ".utf8)) }
            guard let line = readLine(strippingNewline: true) else { break }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            switch trimmed {
            case "": continue
            case "/exit", "/quit": return
            case "/reset":
                session.reset()
                pendingImages = []
                Terminal.error("(conversation reset)")
                continue
            default: break
            }
            if trimmed == "/image" || trimmed.hasPrefix("/image ") {
                attach(String(trimmed.dropFirst("/image".count)).trimmingCharacters(in: .whitespaces))
                continue
            }
            do {
                try session.reply(to: line, images: pendingImages, output: Terminal.output)
            } catch let e as KilnError {
                Terminal.error("\nerror: \(e); conversation reset")
                session.reset()
            }
            pendingImages = []
            Terminal.output(Array("\n".utf8))
        }
    }

    /// `/image FILE`: decodes the file (and loads the vision encoder the first time); errors are reported, not fatal.
    mutating func attach(_ path: String) {
        guard !path.isEmpty else {
            Terminal.error("usage: /image FILE")
            return
        }
        do {
            if session.vision == nil { session.vision = try loadVision() }
            pendingImages.append(try RGBImage.load(path: path))
            Terminal.error("(\(path) attached to the next message)")
        } catch {
            Terminal.error("error: \(error)")
        }
    }
}
