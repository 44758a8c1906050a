#!/usr/bin/env python3
"""Fold Moonshine's int8 .ort models into plain fp32 ONNX models.

Usage: fold_moonshine.py SRC_DIR OUT_DIR

SRC_DIR holds encoder_model.ort and decoder_model_merged.ort as shipped in the
moonshine-cpp wheel; OUT_DIR receives encoder_model.onnx and
decoder_model_merged.onnx, which sherpa-onnx loads as model_config.moonshine.
encoder / .merged_decoder.

Why: the shipped models keep their weights as int8 initializers and rebuild the
fp32 weights with Cast/Mul/Add nodes on every run. ORT-format models are never
graph-optimised at load time, so the decoder pays that dequantisation on every
generated token. Folding those constant subgraphs once makes decoding several
times faster for about 4x the disk space.

How (needs onnxruntime and onnx; setup-recognizer.sh installs pinned versions
into a throwaway directory):
  1. Load the .ort file in onnxruntime and let it write the graph back out as
     ONNX (SessionOptions.optimized_model_filepath). Nothing is optimised in
     this pass: ORT-format models skip graph optimisation.
  2. Name the graph and the If-branch subgraphs: ORT writes them without
     names, which the ONNX checker and ORT's ONNX loader reject.
  3. Load that ONNX model with ORT_ENABLE_BASIC and save it again. Basic level
     only applies hardware-independent rewrites (constant folding, redundant
     node elimination) and emits standard ONNX ops, so the result is portable;
     constant folding turns every int8 weight chain into an fp32 initializer.
  4. Constant folding copies the tied embedding's transpose into both If
     branches of the merged decoder (54 MB each); keep one copy in the outer
     graph, which both branches can read.
  5. Check that no int8 initializers are left, run the ONNX checker, and
     compare the new models with the originals on a fixed input (both decoder
     branches) before moving the files into place.
"""

import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

MODELS = ("encoder_model", "decoder_model_merged")


def session(path, optimized_out=None, level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC):
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    so.intra_op_num_threads = 1  # keep the conversion polite on small machines
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    if optimized_out:
        so.optimized_model_filepath = optimized_out
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def subgraphs(graph):
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield node, attr.name, attr.g


def name_graphs(graph, name):
    if not graph.name:
        graph.name = name
    for node, attr, sub in subgraphs(graph):
        name_graphs(sub, f"{node.name or node.op_type}_{attr}")


def hoist_shared_branch_initializers(graph):
    """Move initializers that both branches of an If hold identically into the
    enclosing graph. Returns the number of bytes saved."""
    outer = {t.name for t in graph.initializer}
    outer.update(v.name for v in graph.input)
    outer.update(o for n in graph.node for o in n.output)
    saved = 0
    for node in graph.node:
        if node.op_type != "If":
            continue
        branches = {a.name: a.g for a in node.attribute if a.type == onnx.AttributeProto.GRAPH}
        then_g, else_g = branches.get("then_branch"), branches.get("else_branch")
        if then_g is None or else_g is None:
            continue
        in_else = {t.name: t for t in else_g.initializer}
        shared = [t.name for t in then_g.initializer
                  if t.name in in_else and t.name not in outer
                  and t.SerializeToString() == in_else[t.name].SerializeToString()]
        for name in shared:
            kept = next(t for t in then_g.initializer if t.name == name)
            graph.initializer.add().CopyFrom(kept)
            saved += len(kept.raw_data)
            for g in (then_g, else_g):
                index = next(i for i, t in enumerate(g.initializer) if t.name == name)
                del g.initializer[index]
            outer.add(name)
    return saved


def all_initializers(graph):
    yield from graph.initializer
    for _, _, sub in subgraphs(graph):
        yield from all_initializers(sub)


def used_domains(graph):
    domains = {n.domain for n in graph.node}
    for _, _, sub in subgraphs(graph):
        domains |= used_domains(sub)
    return domains


def fold(src, dst, workdir):
    stage1 = os.path.join(workdir, "stage1.onnx")
    named = os.path.join(workdir, "named.onnx")
    stage2 = os.path.join(workdir, "stage2.onnx")

    session(src, optimized_out=stage1)  # 1. .ort -> .onnx, unchanged

    model = onnx.load(stage1)  # 2.
    name_graphs(model.graph, "main")
    onnx.save(model, named)
    del model
    os.unlink(stage1)  # intermediates go as soon as they are read: the fp32 ones are large

    session(named, optimized_out=stage2)  # 3. constant folding
    os.unlink(named)

    model = onnx.load(stage2)  # 4.
    os.unlink(stage2)
    saved = hoist_shared_branch_initializers(model.graph)
    # ORT declares every domain it knows; keep only the ones the graph uses.
    domains = used_domains(model.graph) | {""}
    keep = [o for o in model.opset_import if o.domain in domains]
    del model.opset_import[:]
    model.opset_import.extend(keep)
    model.metadata_props.add(
        key="captiontap_folded_from",
        value=f"{os.path.basename(src)} by onnxruntime {ort.__version__} ORT_ENABLE_BASIC",
    )

    left = [t.name for t in all_initializers(model.graph)
            if t.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)]  # 5.
    if left:
        raise SystemExit(f"{src}: {len(left)} int8 initializers were not folded, e.g. {left[0]}")
    onnx.checker.check_model(model)
    tmp = dst + ".tmp"
    onnx.save(model, tmp)
    return tmp, saved


def compare(name, a, b, tol=1e-3):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0 or b.size == 0:  # e.g. an unused cache output
        if a.shape != b.shape:
            raise SystemExit(f"folded model differs from the original: {name}: shapes {a.shape} {b.shape}")
        return 0.0
    diff = float(np.max(np.abs(a - b))) / max(1.0, float(np.max(np.abs(a))))
    if a.shape != b.shape or not diff <= tol:
        raise SystemExit(f"folded model differs from the original: {name}: shapes {a.shape} "
                         f"{b.shape}, max relative difference {diff:.3g}")
    return diff


def verify(src_dir, out_files):
    """Run original and folded models on the same input, covering both
    branches of the merged decoder (first token without cache, then with)."""
    enc_a = session(os.path.join(src_dir, "encoder_model.ort"))
    enc_b = session(out_files["encoder_model"])
    audio = (np.random.default_rng(0).standard_normal((1, 32000)) * 0.1).astype(np.float32)
    (h_a,) = enc_a.run(None, {"input_values": audio})
    (h_b,) = enc_b.run(None, {"input_values": audio})
    worst = compare("encoder", h_a, h_b)

    dec_a = session(os.path.join(src_dir, "decoder_model_merged.ort"))
    dec_b = session(out_files["decoder_model_merged"])
    past_names = [i.name for i in dec_a.get_inputs() if i.name.startswith("past_key_values.")]
    shape = next(i.shape for i in dec_a.get_inputs() if i.name == past_names[0])
    heads, head_dim = shape[1], shape[3]  # [batch, heads, length, head_dim]
    empty = np.zeros((1, heads, 0, head_dim), dtype=np.float32)
    feeds = {"input_ids": np.array([[1]], dtype=np.int64), "encoder_hidden_states": h_a,
             "use_cache_branch": np.array([False])}
    feeds.update({n: empty for n in past_names})
    for step in range(2):
        out_a = dec_a.run(None, feeds)
        out_b = dec_b.run(None, feeds)
        for (meta, x, y) in zip(dec_a.get_outputs(), out_a, out_b):
            worst = max(worst, compare(f"decoder step {step} {meta.name}", x, y))
        if int(np.argmax(out_a[0][0, -1])) != int(np.argmax(out_b[0][0, -1])):
            raise SystemExit(f"folded decoder picks a different token at step {step}")
        # Next step: the token the original picked, with the cache it returned.
        presents = {m.name: v for m, v in zip(dec_a.get_outputs(), out_a)}
        feeds["input_ids"] = np.array([[int(np.argmax(out_a[0][0, -1]))]], dtype=np.int64)
        feeds["use_cache_branch"] = np.array([True])
        for n in past_names:
            feeds[n] = presents[n.replace("past_key_values.", "present.")]
    return worst


def main(argv):
    if len(argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    src_dir, out_dir = argv[1], argv[2]
    os.makedirs(out_dir, exist_ok=True)
    tmp_files, final = {}, {}
    try:
        with tempfile.TemporaryDirectory(prefix=".fold-", dir=out_dir) as work:
            for name in MODELS:
                src = os.path.join(src_dir, name + ".ort")
                final[name] = os.path.join(out_dir, name + ".onnx")
                tmp_files[name], saved = fold(src, final[name], work)
                note = f", {saved / 1e6:.0f} MB of duplicate branch weights shared" if saved else ""
                print(f"folded {src} ({os.path.getsize(src) / 1e6:.0f} MB) -> "
                      f"{os.path.getsize(tmp_files[name]) / 1e6:.0f} MB{note}", flush=True)
        worst = verify(src_dir, tmp_files)
    except BaseException:
        for path in tmp_files.values():  # only verified models replace the old ones
            if os.path.exists(path):
                os.unlink(path)
        raise
    for name in MODELS:
        os.replace(tmp_files[name], final[name])
    print(f"verified against the int8 models: max relative difference {worst:.2g}")


if __name__ == "__main__":
    main(sys.argv)
