/// One run of llama.cpp's `llm_tokenizer_spm_session` over an already-escaped text fragment: UTF-8 characters,
/// merged greedily by the score of the vocabulary token their concatenation forms, then byte fallback.
struct SPMSession {
    private struct Symbol {
        var start: Int32
        var count: Int32
        var prev: Int32
        var next: Int32
    }

    private struct Bigram {
        var left: Int32
        var right: Int32
        var score: Float
        var size: Int32

        /// llama.cpp's queue order: higher score first, then the leftmost pair.
        @inline(__always)
        func outranks(_ other: Bigram) -> Bool {
            score > other.score || (score == other.score && left < other.left)
        }
    }

    /// Appends the token ids for `text` to `output`.
    static func tokenize(_ text: UnsafeBufferPointer<UInt8>, tokenizer t: SPMTokenizer, into output: inout [Int32]) {
        guard !text.isEmpty else { return }
        var symbols: [Symbol] = []
        symbols.reserveCapacity(text.count)
        var offset = 0
        while offset < text.count {
            let length = min(utf8Length(text[offset]), text.count - offset)
            let index = Int32(symbols.count)
            symbols.append(Symbol(start: Int32(offset), count: Int32(length), prev: index - 1,
                                  next: offset + length == text.count ? -1 : index + 1))
            offset += length
        }

        var heap: [Bigram] = []
        heap.reserveCapacity(symbols.count * 2)
        func tryAdd(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let start = Int(symbols[Int(left)].start)
            let size = Int(symbols[Int(left)].count + symbols[Int(right)].count)
            guard let id = t.lookup.id(of: UnsafeBufferPointer(rebasing: text[start ..< start + size])) else { return }
            push(&heap, Bigram(left: left, right: right, score: t.vocabulary.scores[Int(id)], size: Int32(size)))
        }
        for i in 1 ..< symbols.count { tryAdd(Int32(i - 1), Int32(i)) }

        while let bigram = pop(&heap) {
            let l = Int(bigram.left), r = Int(bigram.right)
            if symbols[l].count == 0 || symbols[r].count == 0 || symbols[l].count + symbols[r].count != bigram.size { continue }
            symbols[l].count += symbols[r].count
            symbols[r].count = 0
            symbols[l].next = symbols[r].next
            if symbols[r].next >= 0 { symbols[Int(symbols[r].next)].prev = bigram.left }
            tryAdd(symbols[l].prev, bigram.left)
            tryAdd(bigram.left, symbols[l].next)
        }

        // Resegment: a symbol is a token, or falls back to byte tokens. (llama.cpp's rev_merge lookup only matters
        // for texts that are not tokens, and it only records texts that are, so it never applies.)
        var i: Int32 = 0
        while i != -1 {
            let s = symbols[Int(i)]
            let piece = UnsafeBufferPointer(rebasing: text[Int(s.start) ..< Int(s.start + s.count)])
            if let id = t.lookup.id(of: piece) {
                output.append(id)
            } else {
                for b in piece { output.append(t.byteTokens[Int(b)]) }
            }
            i = s.next
        }
    }

    /// llama.cpp's `unicode_len_utf8`: the sequence length announced by a lead byte (1 for continuation bytes).
    @inline(__always)
    static func utf8Length(_ b: UInt8) -> Int {
        switch b >> 4 {
        case 0xC, 0xD: 2
        case 0xE: 3
        case 0xF: 4
        default: 1
        }
    }

    private static func push(_ heap: inout [Bigram], _ b: Bigram) {
        heap.append(b)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].outranks(heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private static func pop(_ heap: inout [Bigram]) -> Bigram? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if heap.isEmpty { return top }
        heap[0] = last
        var i = 0
        let n = heap.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < n && heap[l].outranks(heap[best]) { best = l }
            if r < n && heap[r].outranks(heap[best]) { best = r }
            if best == i { break }
            heap.swapAt(i, best)
            i = best
        }
        return top
    }
}
