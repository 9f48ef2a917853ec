#!/usr/bin/env python3
"""llama.cpp's own intermediate tensors for one prompt: the reference for Kiln's stage-by-stage engine checks.

llama.cpp calls a graph-evaluation callback (`llama_context_params.cb_eval`, ggml's
`ggml_backend_sched_eval_callback`) for every node it computes; this asks for the named nodes below and copies each
one out (F32, contiguous) with ggml's `ggml_backend_tensor_get`. Node names are llama.cpp's graph names
(`src/models/gemma3.cpp`, suffixed `-<layer>`); a name computed twice in a layer (Qcur/Kcur before and after
normalisation and RoPE) gets `#2`, `#3`, ... in evaluation order. Shapes are numpy order (reversed ggml `ne`, leading
1s dropped): [n_tokens, width].

Library: llama-cpp-python (tested with 0.3.36, which bundles llama.cpp and ggml), numpy.
Used by scripts/gen_engine_goldens.py; standalone: llama_stages.py MODEL.gguf OUT.npz ID...
"""
import ctypes
import os
import re
import sys

import numpy as np
import llama_cpp

STAGES = re.compile(r"^(inp_scaled|attn_norm-\d+|Qcur_normed-\d+|Kcur_normed-\d+|Qcur-\d+|Kcur-\d+|Vcur-\d+|"
                    r"kq_soft_max-\d+|kqv_out-\d+|attn_post_norm-\d+|sa_out-\d+|ffn_norm-\d+|ffn_out-\d+|"
                    r"ffn_post_norm-\d+|l_out-\d+|result_norm|result_output)$")
GGML_TYPE_F32 = 0


class TensorHead(ctypes.Structure):
    """The leading fields of ggml.h's `struct ggml_tensor` (type, buffer, ne[4], nb[4])."""
    _fields_ = [("type", ctypes.c_int), ("buffer", ctypes.c_void_p),
                ("ne", ctypes.c_int64 * 4), ("nb", ctypes.c_size_t * 4)]


def _ggml():
    lib = ctypes.CDLL(os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml-base.so"))
    lib.ggml_get_name.argtypes, lib.ggml_get_name.restype = [ctypes.c_void_p], ctypes.c_char_p
    lib.ggml_nbytes.argtypes, lib.ggml_nbytes.restype = [ctypes.c_void_p], ctypes.c_size_t
    lib.ggml_is_contiguous.argtypes, lib.ggml_is_contiguous.restype = [ctypes.c_void_p], ctypes.c_bool
    lib.ggml_backend_tensor_get.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t]
    lib.ggml_backend_tensor_get.restype = None
    return lib


def dump(model_path, ids, n_ctx=256, threads=2):
    """Evaluates `ids` as one batch (every position's logits requested, no flash attention) and returns
    ({stage name: float32 array}, logits [n_tokens, n_vocab])."""
    ggml = _ggml()
    stages = {}

    @llama_cpp.ggml_backend_sched_eval_callback
    def on_node(tensor, ask, _user):
        name = ggml.ggml_get_name(tensor).decode()
        if ask:
            return bool(STAGES.match(name))
        head = TensorHead.from_address(tensor)
        if head.type != GGML_TYPE_F32 or not ggml.ggml_is_contiguous(tensor):
            return True
        values = np.empty(ggml.ggml_nbytes(tensor) // 4, dtype=np.float32)
        ggml.ggml_backend_tensor_get(tensor, values.ctypes.data, 0, values.nbytes)
        shape = [int(n) for n in reversed(head.ne)]
        while len(shape) > 1 and shape[0] == 1:
            shape.pop(0)
        key, n = name, 1
        while key in stages:
            n += 1
            key = f"{name}#{n}"
        stages[key] = values.reshape(shape)
        return True

    llama_cpp.llama_backend_init()
    model = llama_cpp.llama_model_load_from_file(str(model_path).encode(), llama_cpp.llama_model_default_params())
    if not model:
        raise SystemExit(f"llama.cpp could not load {model_path}")
    params = llama_cpp.llama_context_default_params()
    params.n_ctx, params.n_batch, params.n_ubatch = n_ctx, n_ctx, n_ctx
    params.n_threads, params.n_threads_batch = threads, threads
    if hasattr(params, "flash_attn_type"):
        params.flash_attn_type = 0          # LLAMA_FLASH_ATTN_TYPE_DISABLED
    else:
        params.flash_attn = False
    params.cb_eval, params.cb_eval_user_data = on_node, None
    ctx = llama_cpp.llama_init_from_model(model, params)
    batch = llama_cpp.llama_batch_init(len(ids), 0, 1)
    try:
        batch.n_tokens = len(ids)
        for i, token in enumerate(ids):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, i, 1
            batch.seq_id[i][0], batch.logits[i] = 0, True
        if llama_cpp.llama_decode(ctx, batch) != 0:
            raise SystemExit("llama_decode failed")
        n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(ctx), shape=(len(ids) * n_vocab,))
        logits = logits.reshape(len(ids), n_vocab).copy()
    finally:
        llama_cpp.llama_batch_free(batch)
        llama_cpp.llama_free(ctx)
        llama_cpp.llama_model_free(model)
    return stages, logits


if __name__ == "__main__":
    found, _ = dump(sys.argv[1], [int(a) for a in sys.argv[3:]])
    np.savez_compressed(sys.argv[2], **found)
    print(f"{len(found)} stages -> {sys.argv[2]}")
