import ChatKit
import Foundation
import KilnCore

/// The interactive loop: one line per user turn, `/reset` and `/exit` commands, replies streamed as generated.
struct ChatREPL {
    let session: ChatSession

    func run() throws {
        let tty = isatty(0) == 1
        if tty { Terminal.error("chat: /reset starts over, /exit (or Ctrl-D) quits") }
        while true {
            if tty { Terminal.output(Array("> ".utf8)) }
            guard let line = readLine(strippingNewline: true) else { break }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            switch trimmed {
            case "": continue
            case "/exit", "/quit": return
            case "/reset":
                session.reset()
                Terminal.error("(conversation reset)")
                continue
            default: break
            }
            do {
                try session.reply(to: line, output: Terminal.output)
            } catch let e as KilnError {
                Terminal.error("\nerror: \(e); conversation reset")
                session.reset()
            }
            Terminal.output(Array("\n".utf8))
        }
    }
}
