#!/usr/bin/env python3
"""Tokenizer fixtures for TokenizersTests (run in the oracle venv: `. ~/.venvs/oracle/bin/activate`).

Tiny (committed, always-on tests), written to fixtures/tokenizer/:
  tiny.model             a SentencePiece BPE model trained here with the real `sentencepiece` trainer
                         (Gemma-like layout: pad 0, eos 1, bos 2, unk 3; user-defined <start_of_turn>, <end_of_turn>,
                         newline/space runs, tab; control <mask>, <unused0..2>; byte fallback)
  tiny_model.json        what the protobuf holds (pieces with their SentencePiece types, trainer/normalizer fields),
                         read back with the real `protobuf` package
  tiny_vocab.json        the GGUF vocabulary llama.cpp's converter writes for it (rule below)
  tiny_llama_goldens.json  llama.cpp's own tokenizer (llama-cpp-python, vocab_only) on a GGUF holding that vocabulary

Full size (not committed, ~4 MB), with --full GGUF:
  $KILN_CACHE/gemma3-270m-tokenizer.model   a tokenizer.model rebuilt from the real Gemma 3 270M GGUF vocabulary
  (the make_kaggle_like.py approach: GGUF types mapped back to SentencePiece, user-defined spaces re-escaped to U+2581,
  non-NORMAL scores 0). The added tokens HF marks special (<start_of_turn>, <end_of_turn>, <mask>, <unusedN>) are
  written as USER_DEFINED, as SentencePiece itself does not know them as control, so the converter rule must recover
  CONTROL for them. The Swift test converts it and compares with the GGUF's own tokens/scores/types.

Converter rule replicated (llama.cpp convert_hf_to_gguf.py `_create_vocab_sentencepiece` + Gemma3Model.set_vocab,
fed the added_tokens_decoder that transformers' GemmaConverter derives from the same tokenizer.model):
  * ids < vocab size: text/score from the model; type UNKNOWN/CONTROL/UNUSED/BYTE per IsUnknown/IsControl/IsUnused/IsByte,
    else NORMAL; missing ids -> "[PAD<id>]", -10000, UNUSED.
  * added tokens = pieces of type CONTROL or USER_DEFINED plus the unk piece: score -1000; CONTROL if special
    (CONTROL/UNKNOWN piece, <start_of_turn>/<end_of_turn>, or does_token_look_special), else USER_DEFINED with U+2581 -> ' '.
"""
import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "tokenizer"
GEMMA_SPECIAL = {"<start_of_turn>", "<end_of_turn>"}


def looks_special(t):
    return (t in ("<pad>", "<mask>", "<2mass>", "[@BOS@]") or (t.startswith("<|") and t.endswith("|>"))
            or (t.startswith("<｜") and t.endswith("｜>")) or (t.startswith("<unused") and t.endswith(">")))


def convert(model_path, vocab_size=None):
    """The GGUF vocabulary for a tokenizer.model (rule in the module docstring), via SentencePieceProcessor."""
    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    proto = pb.ModelProto()
    proto.ParseFromString(Path(model_path).read_bytes())
    n = vocab_size or sp.vocab_size()
    tokens = [f"[PAD{i}]" for i in range(n)]
    scores = [-10000.0] * n
    types = [5] * n
    for i in range(min(n, sp.vocab_size())):
        t = 1
        if sp.IsUnknown(i): t = 2
        elif sp.IsControl(i): t = 3
        elif sp.IsUnused(i): t = 5
        elif sp.IsByte(i): t = 6
        tokens[i], scores[i], types[i] = sp.IdToPiece(i), sp.GetScore(i), t
    T = pb.ModelProto.SentencePiece
    for i, p in enumerate(proto.pieces[:n]):
        if p.type in (T.CONTROL, T.USER_DEFINED, T.UNKNOWN) or i == sp.unk_id():
            special = p.type in (T.CONTROL, T.UNKNOWN) or i == sp.unk_id() or p.piece in GEMMA_SPECIAL or looks_special(p.piece)
            tokens[i] = p.piece if special else p.piece.replace("\u2581", " ")
            types[i] = 3 if special else 4
            scores[i] = -1000.0
    ids = dict(bos=sp.bos_id(), eos=sp.eos_id(), unk=sp.unk_id(), pad=sp.pad_id())
    return dict(tokens=tokens, scores=scores, types=types, **ids)


CORPUS_SEED = [
    "The quick brown fox jumps over the lazy dog.", "Hello world, hello there!", "What is the capital of France?",
    "Paris is the capital of France.", "def f(x):\n    return x * 2\n", "for i in range(10): print(i)",
    "<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n",
    "Numbers 0123456789 and 3.14159", "naïve café résumé", "tokenizers split text into pieces",
    "the theme of the thesis is there and then", "Internationalization and localization",
]


def train_tiny():
    rng = random.Random(7)
    lines = []
    for _ in range(400):
        lines.append(" ".join(rng.choice(CORPUS_SEED).split(" ")[rng.randrange(3):]))
    with tempfile.TemporaryDirectory() as d:
        corpus = Path(d) / "corpus.txt"
        corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
        prefix = Path(d) / "tiny"
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=str(prefix), model_type="bpe", vocab_size=420,
            byte_fallback=True, split_digits=True, allow_whitespace_only_pieces=True,
            add_dummy_prefix=False, remove_extra_whitespaces=False, normalization_rule_name="identity",
            pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
            unk_piece="<unk>", control_symbols=["<mask>", "<unused0>", "<unused1>", "<unused2>"],
            user_defined_symbols=["[multimodal]", "<start_of_turn>", "<end_of_turn>", "\n", "\n\n", "\u2581\u2581",
                                  "\u2581\u2581\u2581", "\t", "<start_of_image>"],
            character_coverage=1.0, hard_vocab_limit=False, num_threads=1, minloglevel=2)
        m = pb.ModelProto()
        m.ParseFromString(prefix.with_suffix(".model").read_bytes())
    # The trainer records the (temporary) corpus path and prefix; drop them so reruns give identical bytes.
    del m.trainer_spec.input[:]
    m.trainer_spec.ClearField("model_prefix")
    (OUT / "tiny.model").write_bytes(m.SerializeToString())
    return OUT / "tiny.model"


def describe_model(path):
    m = pb.ModelProto()
    m.ParseFromString(Path(path).read_bytes())
    ts, ns = m.trainer_spec, m.normalizer_spec
    return dict(pieces=[dict(piece=p.piece, score=p.score, type=p.type) for p in m.pieces],
                model_type=ts.model_type, vocab_size=ts.vocab_size, byte_fallback=ts.byte_fallback,
                unk_id=ts.unk_id, bos_id=ts.bos_id, eos_id=ts.eos_id, pad_id=ts.pad_id,
                normalizer_name=ns.name, add_dummy_prefix=ns.add_dummy_prefix,
                remove_extra_whitespaces=ns.remove_extra_whitespaces, escape_whitespaces=ns.escape_whitespaces)


def write_vocab_gguf(vocab, path):
    """A tensor-less gemma3 GGUF holding `vocab` (hyperparameters of the 270M model) for llama.cpp's vocab_only load."""
    import gguf
    w = gguf.GGUFWriter(str(path), "gemma3")
    w.add_context_length(32768); w.add_embedding_length(640); w.add_block_count(18); w.add_feed_forward_length(2048)
    w.add_head_count(4); w.add_layer_norm_rms_eps(1e-6); w.add_key_length(256); w.add_value_length(256)
    w.add_rope_freq_base(1e6); w.add_sliding_window(512); w.add_head_count_kv(1)
    w.add_tokenizer_model("llama"); w.add_tokenizer_pre("default")
    w.add_token_list(vocab["tokens"]); w.add_token_scores(vocab["scores"]); w.add_token_types(vocab["types"])
    w.add_bos_token_id(vocab["bos"]); w.add_eos_token_id(vocab["eos"]); w.add_unk_token_id(vocab["unk"])
    if vocab["pad"] >= 0:
        w.add_pad_token_id(vocab["pad"])
    w.add_add_bos_token(True); w.add_add_eos_token(False); w.add_add_space_prefix(False)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()


TINY_STRINGS = [
    "", " ", "  ", "Hello world", " Hello  world", "The quick brown fox", "the theme thesis", "x", "zzzz qqq",
    "<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n", "<mask> <unused0><unused2>", "<unk><pad><bos><eos>",
    "a\nb\n\nc\n\n\nd", "tab\tand\t\ttabs", "line\r\nbreak", "日本語 🙂 👨‍👩‍👧", "café ß", "<0x41> ▁ ▁▁x", "[multimodal]<start_of_image>",
    "def f(x):\n    return x * 2\n", "1234567890", "    four spaces", "Internationalization", "€uro",
]


def tiny_goldens(vocab):
    import llama_cpp
    rng = random.Random(11)
    alphabet = list("abcdefghijklmnopqrstuvwxyz THE.,!?\n\t<>_") + ["é", "🙂", "▁", "  ", "\n\n", "<start_of_turn>", "<mask>", "日"]
    strings = TINY_STRINGS + ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 40))) for _ in range(120)]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "tiny-vocab.gguf"
        write_vocab_gguf(vocab, path)
        llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
        cases = []
        for s in strings:
            for add_bos, special in ((True, True), (False, False), (False, True)):
                ids = llm.tokenize(s.encode("utf-8"), add_bos=add_bos, special=special)
                cases.append(dict(text=s, add_bos=add_bos, special=special, ids=ids))
    return dict(llama_cpp_python=llama_cpp.__version__, cases=cases)


def build_full(gguf_path, out_path):
    from gguf import GGUFReader, GGUFValueType
    import numpy as np
    r = GGUFReader(str(gguf_path))

    def val(key):
        f = r.fields[key]
        if f.types[0] == GGUFValueType.ARRAY:
            if f.types[1] == GGUFValueType.STRING:
                return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
            return np.concatenate([f.parts[i] for i in f.data])
        if f.types[0] == GGUFValueType.STRING:
            return bytes(f.parts[f.data[0]]).decode("utf-8")
        return f.parts[f.data[0]][0].item()

    tokens, scores, types = val("tokenizer.ggml.tokens"), val("tokenizer.ggml.scores"), val("tokenizer.ggml.token_type")
    ids = {k: int(val(f"tokenizer.ggml.{k}_token_id")) for k in ("bos", "eos", "unknown", "padding")}
    T = pb.ModelProto.SentencePiece
    g2s = {1: T.NORMAL, 2: T.UNKNOWN, 3: T.CONTROL, 4: T.USER_DEFINED, 5: T.UNUSED, 6: T.BYTE}
    m = pb.ModelProto()
    for i, (tok, sc, tt) in enumerate(zip(tokens, scores, types)):
        t = g2s[int(tt)]
        if i == ids["unknown"]:
            t = T.UNKNOWN
        elif t == T.CONTROL and i not in (ids["bos"], ids["eos"], ids["padding"]):
            t = T.USER_DEFINED          # <mask>, <unusedN>, <start_of_turn>, <end_of_turn>: HF added tokens
        p = m.pieces.add()
        p.piece = tok.replace(" ", "\u2581") if t == T.USER_DEFINED else tok
        p.score = float(sc) if t == T.NORMAL else 0.0
        p.type = t
    ts = m.trainer_spec
    ts.model_type, ts.vocab_size, ts.byte_fallback = pb.TrainerSpec.BPE, len(tokens), True
    ts.unk_id, ts.bos_id, ts.eos_id, ts.pad_id = ids["unknown"], ids["bos"], ids["eos"], ids["padding"]
    ns = m.normalizer_spec
    ns.name, ns.add_dummy_prefix, ns.remove_extra_whitespaces, ns.escape_whitespaces = "identity", False, False, True
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp")
    tmp.write_bytes(m.SerializeToString())
    os.replace(tmp, out_path)
    # Self-check: the Python rule reproduces the GGUF arrays exactly.
    v = convert(out_path)
    assert v["tokens"] == tokens, "tokens differ"
    assert np.array_equal(np.asarray(v["scores"], np.float32), scores), "scores differ"
    assert list(v["types"]) == [int(x) for x in types], "types differ"
    print(f"wrote {out_path} ({out_path.stat().st_size} bytes); Python converter rule matches the GGUF", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", metavar="GGUF", help="also build the full-size tokenizer.model from this GGUF")
    ap.add_argument("--full-only", action="store_true", help="skip the committed tiny fixtures")
    args = ap.parse_args()
    if not args.full_only:
        OUT.mkdir(parents=True, exist_ok=True)
        tiny = train_tiny()
        (OUT / "tiny_model.json").write_text(json.dumps(describe_model(tiny), ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
        vocab = convert(tiny)
        (OUT / "tiny_vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
        (OUT / "tiny_llama_goldens.json").write_text(json.dumps(tiny_goldens(vocab), ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    if args.full:
        cache = Path(os.environ.get("KILN_CACHE", Path.home() / ".cache" / "kiln"))
        build_full(Path(args.full), cache / "gemma3-270m-tokenizer.model")


if __name__ == "__main__":
    main()
