#!/usr/bin/env python3
"""llama.cpp tokenizer goldens for the real Gemma 3 270M GGUF -> fixtures/tokenizer/gemma270m_llama_goldens.json.

Run in the oracle venv (`. ~/.venvs/oracle/bin/activate`); needs llama-cpp-python (tested with 0.3.36, whose version is
recorded in the output) and the GGUF (default ~/.cache/kiln/gemma-3-270m-q4_k_m.gguf, or $KILN_GEMMA270M, or --gguf).

Each case: text, add_bos, special, llama.cpp's ids (`Llama.tokenize(text.encode(), add_bos, special)`), and for
the add_bos=False cases `Llama.detokenize(ids)` (special=False) as "detok" (a string) or, when those bytes are not
valid UTF-8, "detok_bytes" (a list of byte values).
Strings: a fixed list (unicode, emoji ZWJ, CJK, whitespace runs, tabs, CRLF, code, digits, special tokens inside text,
literal "<0x41>", literal "▁", empty) plus seeded random strings; modes (True,True) and (False,False) for all,
(True,False) and (False,True) for a subset.
"""
import argparse
import json
import os
import random
from pathlib import Path

import llama_cpp

ROOT = Path(__file__).resolve().parent.parent

FIXED = [
    "", " ", "  ", "   ", "\n", "\t", "\r\n", "The capital of France is", "Hello world", " Hello  world",
    "   leading spaces", "trailing spaces   ", "a  b   c    d     e      f", "a\nb", "a\n\nb", "\n\n\n\nfour newlines",
    "line1\r\nline2\r\n", "\t\ttabs\tand spaces \t mixed", "def f(x):\n    return x ** 2\n",
    "if (a && b) { return -1; } else { x += 0x1F; }", "for (int i = 0; i < n; ++i) {\n\tsum += v[i];\n}\n",
    "import numpy as np\nprint(np.arange(10).reshape(2, 5))", "SELECT * FROM users WHERE id = 42;",
    "1234567890", "3.14159 2.71828 1e-9 -42", "Phone: +1 (555) 123-4567", "2026-11-27T09:05:00Z", "$1,234.56 €99 £3 ¥1000",
    "日本語のテキストです。", "中文测试：你好，世界！", "한국어 문장입니다.", "Привет, мир!", "العربية لغة جميلة", "हिन्दी पाठ",
    "ภาษาไทย", "Ελληνικά κείμενα", "עברית", "Tiếng Việt có dấu", "naïve café — “quotes” ‘single’ …",
    "emoji 🙂👍🏽👨‍👩‍👧 🇫🇷", "👩🏽‍💻 coding", "🏳️‍🌈 flag", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝒜𝒷𝒸", "\u200bzero\u200dwidth\ufeff",
    "control \x01\x02\x7f bytes", "\x00nul byte", "<start_of_turn>user\nhi<end_of_turn>",
    "<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n",
    "<bos> literal <eos> <unk> <pad> <mask>", "[multimodal] <start_of_image>pic<end_of_image>",
    "<0x41> literal byte token text", "<0x0A><0xFF>", "▁already▁escaped", "▁", "▁▁", " ▁ ", "x" * 80,
    " " * 40 + "forty spaces", "\n" * 35, "\t" * 5 + "tabs", "URL https://example.com/a?b=c&d=e#frag",
    "<html><body><div class=\"x\">text</div></body></html>", "ÀÉÎÕÜ àéîõü ñ ß æ ø å",
    "Ünïcödé NFKC ｆｕｌｌｗｉｄｔｈ ＡＢＣ ﬁ ligature", "e\u0301 combining", "<start_of_turn><start_of_turn>",
    "<end_of_turn>\n\n<start_of_turn>model", "<unused0><unused99> <unused6241>", "<start_of_turn", "start_of_turn>",
    "<<start_of_turn>>", "a<bos>b", "Question?<end", "   \n   \n", " \t \r\n \u00a0nbsp", "ends with space ",
    "{\"json\": [1, 2, {\"k\": null}]}", "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
]

# Long inputs (one SPM fragment of ~2000 characters, and a chat transcript of many fragments).
LONG = [
    ("Internationalization of tokenizers is surprisingly subtle. " * 40)[:2000],
    ("<start_of_turn>user\nSummarize: The quick brown fox jumps over the lazy dog. 日本語 🙂 x = 42;\n\t" * 25)[:2000],
    ("日本語のテキストです。中文测试：你好，世界！" * 100)[:2000],
    " " * 100 + "\n" * 50 + "\t" * 20 + "end",
]

ALPHABET = list("abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,;:!?'\"()[]{}<>_-\n\t") + [
    "é", "ß", "你", "好", "🙂", "▁", "ñ", "ü", "  ", "\n\n", "ー", "ا", "\u0301", "\r\n", "<start_of_turn>", "<end_of_turn>",
    "<bos>", "<0x41>", "user", "model", "   ", "\u200d", "👨‍👩‍👧", "the", " the", "ing", "tion"]


def random_strings(seed, n):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.choice([1, 2, 3, 5, 8, 13, 21, 40])
        out.append("".join(rng.choice(ALPHABET) for _ in range(k)))
    return out


def main():
    ap = argparse.ArgumentParser()
    default = os.environ.get("KILN_GEMMA270M", str(Path.home() / ".cache/kiln/gemma-3-270m-q4_k_m.gguf"))
    ap.add_argument("--gguf", default=default)
    ap.add_argument("--out", default=str(ROOT / "fixtures/tokenizer/gemma270m_llama_goldens.json"))
    ap.add_argument("--random", type=int, default=460)
    args = ap.parse_args()
    llm = llama_cpp.Llama(model_path=args.gguf, vocab_only=True, verbose=False)
    strings = FIXED + LONG + random_strings(1234, args.random)
    cases = []
    for i, s in enumerate(strings):
        modes = [(True, True), (False, False)]
        if i % 4 == 0:
            modes += [(True, False), (False, True)]
        for add_bos, special in modes:
            ids = llm.tokenize(s.encode("utf-8"), add_bos=add_bos, special=special)
            case = dict(text=s, add_bos=add_bos, special=special, ids=ids)
            # llama-cpp-python's detokenize copies at most 32 bytes per piece; all Gemma pieces here are shorter.
            if not add_bos:
                out = llm.detokenize(ids)
                try:
                    case["detok"] = out.decode("utf-8")
                except UnicodeDecodeError:
                    case["detok_bytes"] = list(out)
            cases.append(case)
    doc = dict(llama_cpp_python=llama_cpp.__version__, gguf=Path(args.gguf).name, n_strings=len(strings), cases=cases)
    Path(args.out).write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(strings)} strings, {len(cases)} cases -> {args.out}")


if __name__ == "__main__":
    main()
