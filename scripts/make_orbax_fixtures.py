#!/usr/bin/env python3
"""Writes the Orbax/Flax fixture checkpoints of Tests/FlaxCheckpointTests into fixtures/orbax/.

Generated with (pip show orbax-checkpoint tensorstore jax):
    orbax-checkpoint 0.12.8, tensorstore 0.1.86, jax/jaxlib 0.10.2, ml_dtypes 0.6.0, numpy 2.4.6

Regenerate (takes about a minute; every case runs in its own process):
    . ~/.venvs/oracle/bin/activate
    python scripts/make_orbax_fixtures.py                 # all cases
    python scripts/make_orbax_fixtures.py default zarr3   # some cases
    python scripts/make_orbax_fixtures.py --bench DIR --bench-mb 1100   # benchmark checkpoint (outside the repo)

Layout: fixtures/orbax/<case>/ckpt is what the reader opens; fixtures/orbax/<case>/expected/ holds one .npy per
array (written by numpy from the arrays that were saved) and index.json mapping parameter name -> file, stored
dtype and shape. bfloat16 / float8 arrays are stored in the .npy as their raw bits (<u2 / |u1); int4 as int8
(one value per byte, sign-extended), which is exactly what the Swift reader hands out.

Cases written by the real orbax library: default (OCDBT + zarr2), zarr3, no_ocdbt (zarr2 directories),
no_ocdbt_zarr3, multichunk (SaveArgs.chunk_byte_size), two_process (a real 2-process jax.distributed CPU run),
manager (CheckpointManager, two steps, Composite items), manager_default (unnamed item -> default/),
gemma_flat (Kaggle-style root: tokenizer.model beside gemma3-1b-it-int4/, FLAT keys), uncompressed
(use_compression=False: zarr2 "compressor": null).
Cases written with tensorstore directly (orbax never produces them; _METADATA is written in orbax's format):
ts_zarr2 (padded edge chunks, zlib/gzip/none compressors, missing chunks -> fill_value, more dtypes,
uncompressed OCDBT nodes, a small B+tree node size so the tree has interior nodes), ts_zarr3 (sharding_indexed
with several inner chunks per shard, missing inner chunks, padded edges, numbered manifests, version_tree_arity_log2 = 1
so the version tree has interior nodes), ts_empty (an OCDBT database whose latest root is the empty-tree marker).
"""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), 'fixtures', 'orbax')
CASES = ['default', 'zarr3', 'no_ocdbt', 'no_ocdbt_zarr3', 'multichunk', 'uncompressed', 'manager',
         'manager_default', 'gemma_flat', 'ts_zarr2', 'ts_zarr3', 'ts_empty', 'two_process']


def det(shape, scale=1.0, offset=0.0):
    import numpy as np
    n = int(np.prod(shape)) if len(shape) else 1
    return (np.arange(n, dtype=np.float64) * scale + offset).reshape(shape)


def noisy(shape, seed):
    """Incompressible-ish values so chunks are stored out of line (> 1024 bytes after zstd)."""
    import numpy as np
    return np.random.default_rng(seed).standard_normal(shape)


def small_tree():
    import numpy as np
    import ml_dtypes
    import jax.numpy as jnp
    return {
        'transformer': {
            'layer_0': {
                'attn': {
                    'q_einsum': {'w': jnp.asarray(noisy((4, 8, 16), 1).astype(np.float32))},
                    'kv_einsum': {'w': jnp.asarray(det((2, 4, 8, 16), 0.125, -3.0).astype(ml_dtypes.bfloat16))},
                },
                'mlp': {'gating_einsum': jnp.asarray(det((2, 16, 32), 0.001, 0.5).astype(np.float16))},
                'pre_attention_norm': {'scale': jnp.asarray(np.array([1.5, -2.25, 3.0, 0.0], np.float32))},
            },
            'quant': {
                'i8': jnp.asarray((np.arange(35) % 256 - 128).astype(np.int8).reshape(5, 7)),
                'i4': jnp.asarray(((np.arange(15) % 16) - 8).astype(ml_dtypes.int4).reshape(3, 5)),
                'f8': jnp.asarray(det((6,), 0.5, -1.0).astype(ml_dtypes.float8_e4m3fn)),
            },
        },
        'embedder': {'input_embedding': jnp.asarray(noisy((16, 40), 2).astype(np.float32))},
        'layers': [{'w': jnp.asarray(np.full((2, 2), i, np.int32))} for i in range(2)],
        'step': np.array(7, np.int64),
    }


def flatten(tree, prefix=()):
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from flatten(v, prefix + (str(k),))
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            yield from flatten(v, prefix + (str(i),))
    else:
        yield '.'.join(prefix), tree


def write_expected(case_dir, tree):
    """One .npy per array plus index.json: {name: {file, dtype, shape}} (dtype = stored dtype name)."""
    import numpy as np
    exp = os.path.join(case_dir, 'expected')
    os.makedirs(exp, exist_ok=True)
    index = {}
    for i, (name, value) in enumerate(flatten(tree)):
        if value is None:
            continue
        a = np.asarray(value)
        dt = str(a.dtype)
        if dt == 'bfloat16':
            raw = a.view(np.uint16)
        elif dt.startswith('float8'):
            raw = a.view(np.uint8)
        elif dt == 'int4':
            raw = a.astype(np.int8)
        else:
            raw = a
        fname = f'{i:03d}.npy'
        np.save(os.path.join(exp, fname), np.ascontiguousarray(raw))
        index[name] = {'file': fname, 'dtype': dt, 'shape': list(a.shape)}
    with open(os.path.join(exp, 'index.json'), 'w') as f:
        json.dump(index, f, indent=1, sort_keys=True)


def fresh(case):
    d = os.path.join(OUT, case)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    return d


def orbax_metadata(names, use_ocdbt, use_zarr3):
    """_METADATA in the format orbax 0.12.8 writes (§2.2 of orbax-format.md), for the tensorstore-only cases."""
    tm = {}
    for name in names:
        keys = name.split('.')
        tm[str(tuple(keys))] = {
            'key_metadata': [{'key': k, 'key_type': 2} for k in keys],
            'value_metadata': {'value_type': 'np.ndarray', 'skip_deserialize': False},
        }
    return {'tree_metadata': tm, 'use_ocdbt': use_ocdbt, 'use_zarr3': use_zarr3,
            'store_array_data_equal_to_fill_value': True, 'custom_metadata': None}


def run_case(case):
    if case == 'two_process':
        return two_process()
    import numpy as np
    import ml_dtypes
    import jax.numpy as jnp
    import orbax.checkpoint as ocp
    from etils import epath

    d = fresh(case)
    ckpt = epath.Path(d) / 'ckpt'
    if case == 'default':
        t = small_tree()
        c = ocp.StandardCheckpointer()
        c.save(ckpt, t)
        c.wait_until_finished()
    elif case in ('zarr3', 'no_ocdbt', 'no_ocdbt_zarr3', 'uncompressed'):
        t = small_tree()
        kw = {'zarr3': dict(use_zarr3=True), 'no_ocdbt': dict(use_ocdbt=False),
              'no_ocdbt_zarr3': dict(use_ocdbt=False, use_zarr3=True),
              'uncompressed': dict(use_compression=False)}[case]
        c = ocp.Checkpointer(ocp.PyTreeCheckpointHandler(**kw))
        c.save(ckpt, args=ocp.args.PyTreeSave(t))
    elif case == 'multichunk':
        t = {'a': {'w': jnp.asarray(noisy((24, 40), 3).astype(np.float32))},
             'b': jnp.asarray(det((12, 10, 6), 0.5, -7.0).astype(ml_dtypes.bfloat16)),
             'c': jnp.asarray(((np.arange(18 * 20) % 16) - 8).astype(ml_dtypes.int4).reshape(18, 20))}
        sa = {'a': {'w': ocp.SaveArgs(chunk_byte_size=24 * 40 * 4 // 6)},
              'b': ocp.SaveArgs(chunk_byte_size=200), 'c': ocp.SaveArgs(chunk_byte_size=64)}
        c = ocp.Checkpointer(ocp.PyTreeCheckpointHandler())
        c.save(ckpt, args=ocp.args.PyTreeSave(t, save_args=sa))
    elif case in ('manager', 'manager_default'):
        mgr = ocp.CheckpointManager(ckpt, options=ocp.CheckpointManagerOptions(max_to_keep=3))
        for step in (0, 1):
            t = {'w': jnp.asarray((step + det((3, 4), 0.25)).astype(np.float32)),
                 'step_marker': jnp.asarray(np.full((3,), step, np.int32))}
            if case == 'manager':
                mgr.save(step, args=ocp.args.Composite(
                    params=ocp.args.StandardSave(t), meta=ocp.args.JsonSave({'step': step, 'note': 'hello'})))
            else:
                mgr.save(step, args=ocp.args.StandardSave(t))
        mgr.wait_until_finished()
        mgr.close()
    elif case == 'gemma_flat':
        bf = ml_dtypes.bfloat16
        t = {
            'transformer/embedder': {'input_embedding': jnp.asarray(noisy((64, 16), 4).astype(bf))},
            'transformer/final_norm': {'scale': jnp.asarray(det((16,), 0.5).astype(bf))},
            'transformer/layer_0/attn/q_einsum': {'w': jnp.asarray(
                ((np.arange(2 * 16 * 8) * 7 % 16) - 8).astype(ml_dtypes.int4).reshape(2, 16, 8))},
            'transformer/layer_0/attn/kv_einsum': {'w': jnp.asarray(
                ((np.arange(2 * 1 * 16 * 8) * 5 % 16) - 8).astype(ml_dtypes.int4).reshape(2, 1, 16, 8))},
            'transformer/layer_0/attn/attn_vec_einsum': {'w': jnp.asarray(noisy((2, 8, 16), 5).astype(np.float16))},
            'transformer/layer_0/attn/_query_norm': {'scale': jnp.asarray(det((8,), 1.0).astype(np.float32))},
            'transformer/layer_0/mlp/gating_einsum': {'w': jnp.asarray(
                (np.arange(2 * 32 * 16) % 256 - 128).astype(np.int8).reshape(2, 32, 16))},
            'transformer/layer_0/mlp/linear': {'w': jnp.asarray(noisy((32, 16), 6).astype(np.float32))},
            'transformer/layer_0/pre_attention_norm': {'scale': jnp.asarray(det((16,), 1.0).astype(bf))},
        }
        ckpt.mkdir()
        (ckpt / 'tokenizer.model').write_bytes(b'\x0a\x05\x0a\x03<s>')  # a stand-in SentencePiece proto
        c = ocp.StandardCheckpointer()
        c.save(ckpt / 'gemma3-1b-it-int4', t)
        c.wait_until_finished()
    elif case == 'ts_zarr2':
        t = ts_zarr2(str(ckpt))
    elif case == 'ts_zarr3':
        t = ts_zarr3(str(ckpt))
    elif case == 'ts_empty':
        # An OCDBT database whose latest generation has the empty-root marker (one key written, then deleted).
        import tensorstore as ts
        kv = ts.KvStore.open({'driver': 'ocdbt', 'base': f'file://{ckpt}/'}).result()
        kv.write(b'x', b'1').result()
        kv.delete_range(ts.KvStore.KeyRange()).result()
        t = {}
    else:
        raise SystemExit(f'unknown case {case}')
    if case in ('manager', 'manager_default'):
        # The latest step (1) is what the reader opens.
        t = {'w': (1 + det((3, 4), 0.25)).astype(np.float32), 'step_marker': np.full((3,), 1, np.int32)}
    write_expected(d, t)
    print('done', case)


def ts_zarr2(path):
    """Zarr v2 arrays written by tensorstore into one OCDBT database at the root (base path "")."""
    import numpy as np
    import ml_dtypes
    import tensorstore as ts
    os.makedirs(path)
    kv = {'driver': 'ocdbt', 'base': f'file://{path}/',
          'config': {'compression': None, 'max_decoded_node_bytes': 600, 'max_inline_value_bytes': 64}}
    arrays = {
        'edge.f32': (noisy((7, 11), 7).astype(np.float32), [3, 4], {'id': 'zstd', 'level': 1}, None),
        'zlib.i32': ((np.arange(30) * 1000 - 7).astype(np.int32).reshape(5, 6), [2, 6], {'id': 'zlib', 'level': 6}, None),
        'gzip.f64': (noisy((5, 3), 8), [5, 2], {'id': 'gzip', 'level': 5}, None),
        'none.i16': ((np.arange(9) * -300).astype(np.int16).reshape(9), [4], None, None),
        'u8': ((np.arange(20) * 13 % 256).astype(np.uint8).reshape(4, 5), [4, 5], {'id': 'zstd', 'level': 1}, None),
        'i64': ((np.arange(6) - 3).astype(np.int64) * (1 << 40), [6], {'id': 'zstd', 'level': 1}, None),
        'u32': ((np.arange(6) * 123456789).astype(np.uint32), [4], {'id': 'zstd', 'level': 1}, None),
        'b1': ((np.arange(10) % 3) == 0, [10], {'id': 'zstd', 'level': 1}, None),
        'f8e5m2': (det((5,), 0.75, -1.5).astype(ml_dtypes.float8_e5m2), [5], {'id': 'zstd', 'level': 1}, None),
        'i4.edge': (((np.arange(35) % 16) - 8).astype(ml_dtypes.int4).reshape(5, 7), [2, 3], {'id': 'zstd', 'level': 1}, None),
        # Chunks (0,*) are written, chunk row 1 is left out -> filled with fill_value 1.5.
        'missing.f32': (None, [2, 3], {'id': 'zstd', 'level': 1}, 1.5),
    }
    expected = {}
    for name, (value, chunks, comp, fill) in arrays.items():
        if name == 'missing.f32':
            full = np.full((4, 3), 1.5, np.float32)
            full[:2] = det((2, 3), 1.0, -2.0)
            value = full
        dn = str(value.dtype)
        zdt = dn if dn in ('bfloat16', 'int4') or dn.startswith('float8') else value.dtype.str
        spec = {'driver': 'zarr', 'kvstore': {**kv, 'path': name + '/'},
                'metadata': {'shape': list(value.shape), 'chunks': chunks, 'compressor': comp,
                             'fill_value': fill, 'dtype': zdt},
                'create': True}
        arr = ts.open(spec).result()
        if name == 'missing.f32':
            arr[:2].write(value[:2]).result()
        else:
            arr.write(value).result()
        expected[name] = value
    with open(os.path.join(path, '_METADATA'), 'w') as f:
        json.dump(orbax_metadata(list(arrays), True, False), f)
    with open(os.path.join(path, 'commit_success.txt'), 'w') as f:
        f.write('Checkpoint commit was successful (tensorstore fixture)')
    return {k: v for k, v in expected.items()}


def ts_zarr3(path):
    """Zarr v3 sharded arrays: several inner chunks per shard, some missing, padded edges."""
    import numpy as np
    import tensorstore as ts
    os.makedirs(path)
    kv = {'driver': 'ocdbt', 'base': f'file://{path}/',
          'config': {'manifest_kind': 'numbered', 'version_tree_arity_log2': 1}}
    expected = {}

    def sharded(name, value, shard, inner, fill, compress=True):
        inner_codecs = [{'name': 'bytes', 'configuration': {'endian': 'little'}}]
        if compress:
            inner_codecs.append({'name': 'zstd', 'configuration': {'level': 3, 'checksum': False}})
        spec = {'driver': 'zarr3', 'kvstore': {**kv, 'path': name + '/'},
                'metadata': {'shape': list(value.shape), 'data_type': str(value.dtype),
                             'chunk_grid': {'name': 'regular', 'configuration': {'chunk_shape': shard}},
                             'codecs': [{'name': 'sharding_indexed', 'configuration': {
                                 'chunk_shape': inner, 'codecs': inner_codecs,
                                 'index_codecs': [{'name': 'bytes', 'configuration': {'endian': 'little'}},
                                                  {'name': 'crc32c'}]}}],
                             'fill_value': fill},
                'create': True}
        return ts.open(spec).result()

    v = noisy((6, 8), 9).astype(np.float32)
    a = sharded('sharded.f32', v, [4, 8], [2, 4], 0.0)
    a.write(v).result()
    expected['sharded.f32'] = v
    # Only inner chunk (0,0) of shard (0,0) and shard (1,*) rows are written; the rest is fill 2.5.
    w = np.full((6, 8), 2.5, np.float32)
    w[0:2, 0:4] = det((2, 4), 1.0)
    w[4:6, :] = det((2, 8), -1.0)
    b = sharded('partial.f32', w, [4, 8], [2, 4], 2.5, compress=False)
    b[0:2, 0:4].write(w[0:2, 0:4]).result()
    b[4:6, :].write(w[4:6, :]).result()
    expected['partial.f32'] = w
    e = (np.arange(5 * 7) % 200).astype(np.int16).reshape(5, 7)
    c = sharded('edge.i16', e, [3, 7], [3, 7], 0)
    c.write(e).result()
    expected['edge.i16'] = e
    with open(os.path.join(path, '_METADATA'), 'w') as f:
        json.dump(orbax_metadata(list(expected), True, True), f)
    with open(os.path.join(path, 'commit_success.txt'), 'w') as f:
        f.write('Checkpoint commit was successful (tensorstore fixture)')
    return expected


def two_process_tree():
    import numpy as np
    return {'emb': noisy((8, 40), 10).astype(np.float32), 'scale': det((6,), 0.5, 1.0).astype(np.float32)}


def two_process():
    """A real 2-process jax.distributed run on CPU (gloo collectives), one CPU device per process."""
    import socket
    d = fresh('two_process')
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    env = dict(os.environ, JAX_PLATFORMS='cpu')
    procs = [subprocess.Popen([sys.executable, __file__, '--worker', str(i), str(port), d], env=env)
             for i in range(2)]
    codes = [p.wait(timeout=600) for p in procs]
    if any(codes):
        raise SystemExit(f'two_process workers failed: {codes}')
    write_expected(d, two_process_tree())
    print('done two_process')


def worker(pid, port, d):
    import numpy as np
    import jax
    jax.distributed.initialize(coordinator_address=f'127.0.0.1:{port}', num_processes=2, process_id=pid)
    import orbax.checkpoint as ocp
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    from etils import epath
    mesh = Mesh(np.array(jax.devices()), ('x',))
    t = two_process_tree()
    arrs = {}
    for k, v in t.items():
        sh = NamedSharding(mesh, P('x') if k == 'emb' else P())
        arrs[k] = jax.make_array_from_callback(v.shape, sh, lambda idx, v=v: v[idx])
    c = ocp.StandardCheckpointer()
    c.save(epath.Path(d) / 'ckpt', arrs)
    c.wait_until_finished()


def bench(dest, mb):
    """A >= `mb` MB zstd OCDBT checkpoint of bf16/f32 arrays of moderately compressible data."""
    import numpy as np
    import ml_dtypes
    import orbax.checkpoint as ocp
    from etils import epath
    if os.path.exists(dest):
        shutil.rmtree(dest)
    rng = np.random.default_rng(0)
    t = {}
    total = 0
    i = 0
    while total < mb * 1_000_000:
        x = rng.standard_normal((4096, 8192), dtype=np.float32)
        t[f'layer_{i}'] = {'w': x.astype(ml_dtypes.bfloat16) if i % 2 == 0 else x}
        total += x.nbytes // (2 if i % 2 == 0 else 1)
        i += 1
    c = ocp.StandardCheckpointer()
    c.save(epath.Path(dest), t)
    c.wait_until_finished()
    print('bench checkpoint', dest, total, 'decoded bytes')


def main(argv):
    if argv and argv[0] == '--worker':
        return worker(int(argv[1]), int(argv[2]), argv[3])
    if argv and argv[0] == '--bench':
        mb = int(argv[3]) if len(argv) > 3 and argv[2] == '--bench-mb' else 1100
        return bench(argv[1], mb)
    if argv and argv[0] == '--case':
        return run_case(argv[1])
    cases = argv or CASES
    os.makedirs(OUT, exist_ok=True)
    failed = []
    for case in cases:
        r = subprocess.run([sys.executable, __file__, '--case', case])
        if r.returncode:
            failed.append(case)
    if failed:
        raise SystemExit(f'failed: {failed}')


if __name__ == '__main__':
    main(sys.argv[1:])
