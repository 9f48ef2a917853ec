import Foundation
import KilnTestSupport
import Testing
import Tokenizers

@Suite struct SPMTokenizerTests {
    /// llama.cpp (llama-cpp-python, vocab_only) on a GGUF holding the tiny model's converted vocabulary.
    @Test func tinyMatchesLlamaCpp() throws {
        let tokenizer = try TokenizerFixtures.tinyTokenizer()
        let (_, cases) = try TokenizerFixtures.cases("tokenizer/tiny_llama_goldens.json")
        #expect(cases.count > 300)
        expectLlamaCppTokens(tokenizer, cases)
    }

    @Test func tinyRoundTrip() throws {
        let tokenizer = try TokenizerFixtures.tinyTokenizer()
        let (_, cases) = try TokenizerFixtures.cases("tokenizer/tiny_llama_goldens.json")
        // A literal U+2581 cannot survive: llama.cpp escapes spaces to U+2581 and unescapes every U+2581 to a space.
        for c in cases where !c.addBOS && !c.text.unicodeScalars.contains("\u{2581}") {
            let ids = tokenizer.tokenize(c.text, addBOS: false, parseSpecial: c.special)
            #expect(tokenizer.detokenize(ids, special: true) == c.text, "\(c.text.debugDescription)")
        }
    }

    /// 100% equality with llama.cpp on the real Gemma 3 270M vocabulary.
    @Test(RealModel.required("SPMTokenizerTests.gemma270mMatchesLlamaCpp"))
    func gemma270mMatchesLlamaCpp() throws {
        let tokenizer = try TokenizerFixtures.gemma270m().tokenizer
        let (_, cases) = try TokenizerFixtures.cases("tokenizer/gemma270m_llama_goldens.json")
        #expect(cases.count >= 1000)
        expectLlamaCppTokens(tokenizer, cases)
    }

    @Test(RealModel.required("SPMTokenizerTests.gemma270mDetokenize"))
    func gemma270mDetokenize() throws {
        let tokenizer = try TokenizerFixtures.gemma270m().tokenizer
        let (_, cases) = try TokenizerFixtures.cases("tokenizer/gemma270m_llama_goldens.json")
        var checked = 0
        for c in cases where !c.addBOS {
            let detok = try #require(c.detok)
            var mine = tokenizer.detokenizeBytes(c.ids)
            // llama-cpp-python (not llama.cpp) drops a leading space when the first id is BOS, here from a literal "<bos>".
            if c.ids.first == tokenizer.vocabulary.bosID && mine.first == 0x20 { mine.removeFirst() }
            #expect(mine == detok, "\(c.text.debugDescription)")
            // Round trip (special tokens only come back as text when asked for); a literal U+2581 comes back as a space.
            guard !c.text.unicodeScalars.contains("\u{2581}") else { continue }
            #expect(tokenizer.detokenize(tokenizer.tokenize(c.text, addBOS: false, parseSpecial: c.special), special: true) == c.text,
                    "\(c.text.debugDescription)")
            if !c.special { #expect(tokenizer.detokenize(c.ids) == c.text, "\(c.text.debugDescription)") }
            checked += 1
        }
        #expect(checked >= 500)
    }

    @Test(RealModel.required("SPMTokenizerTests.gemma270mKnownPrompt"))
    func gemma270mKnownPrompt() throws {
        let tokenizer = try TokenizerFixtures.gemma270m().tokenizer
        let prompt = "<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n"
        #expect(tokenizer.tokenize(prompt, addBOS: true, parseSpecial: true)
            == [2, 105, 2364, 107, 3689, 563, 506, 5279, 529, 7001, 236881, 106, 107, 105, 4368, 107])
        #expect(tokenizer.tokenize(" Hello  world", addBOS: false, parseSpecial: false) == [26352, 138, 12392])
        #expect(tokenizer.tokenize("", addBOS: true, parseSpecial: true) == [2])
        #expect(tokenizer.tokenize("", addBOS: false, parseSpecial: true) == [])
        #expect(tokenizer.piece(for: 105) == [] && tokenizer.piece(for: 105, special: true) == Array("<start_of_turn>".utf8))
        #expect(tokenizer.piece(for: 238) == [0x00] && tokenizer.piece(for: 493) == [0xFF])
    }

    /// A 2000-character prompt comes back unchanged. (Its speed is not a test matter; no wall-clock assertion here.)
    @Test(RealModel.required("SPMTokenizerTests.gemma270mLongPrompt"))
    func gemma270mLongPrompt() throws {
        let tokenizer = try TokenizerFixtures.gemma270m().tokenizer
        let unit = "<start_of_turn>user\nSummarize: The quick brown fox jumps over the lazy dog. 日本語 🙂 x = 42;\n\t"
        var text = ""
        while text.count < 2000 { text += unit }
        text = String(text.prefix(2000))
        let ids = tokenizer.tokenize(text, addBOS: false, parseSpecial: true)
        #expect(ids.count > 400)
        #expect(tokenizer.detokenize(ids, special: true) == text)
    }
}

/// Every case tokenized exactly as llama.cpp did (the first five differences recorded).
func expectLlamaCppTokens(_ tokenizer: SPMTokenizer, _ cases: [TokenizerFixtures.Case]) {
    var mismatches = 0
    for c in cases {
        let ids = tokenizer.tokenize(c.text, addBOS: c.addBOS, parseSpecial: c.special)
        if ids != c.ids {
            mismatches += 1
            if mismatches <= 5 { Issue.record("\(c.text.debugDescription) bos=\(c.addBOS) special=\(c.special): \(ids) != \(c.ids)") }
        }
    }
    #expect(mismatches == 0)
}
