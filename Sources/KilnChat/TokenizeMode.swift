import Foundation
import KilnCore
import Tokenizers

/// `--tokenize`: JSON array of strings on stdin → JSON array of token-id arrays on stdout.
enum TokenizeMode {
    static func run(tokenizer: SPMTokenizer, addBOS: Bool, parseSpecial: Bool) throws {
        let input = FileHandle.standardInput.readDataToEndOfFile()
        guard let texts = (try? JSONSerialization.jsonObject(with: input)) as? [String] else {
            throw KilnError(.usage, "--tokenize expects a JSON array of strings on stdin")
        }
        let ids = texts.map { tokenizer.tokenize($0, addBOS: addBOS, parseSpecial: parseSpecial).map(Int.init) }
        let data = try JSONSerialization.data(withJSONObject: ids)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
