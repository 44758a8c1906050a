#!/usr/bin/env python3
"""Make Moonshine models that keep their weights int8 in memory: the embedded backend's default.

Usage: compact_moonshine.py ORT_DIR FP32_DIR OUT_DIR

ORT_DIR holds the shipped int8 encoder_model.ort and decoder_model_merged.ort; FP32_DIR the
folded fp32 models of fold_moonshine.py; OUT_DIR receives encoder_model.onnx and
decoder_model_merged.onnx, each with its weights in NAME.onnx.data beside it.

Why: the folded fp32 models decode fast but hold ~300 MB of weights, and onnxruntime keeps a
pre-packed copy of every matrix besides (~580 MB resident in all). The shipped int8 models are
small but rebuild their fp32 weights on every run. These keep the int8 values and let
onnxruntime's 8-bit kernels use them directly: ~85 MB of weights, as fast as fp32.

How:
  1. The shipped models store every weight matrix as one int8 tensor q with a per-tensor scale s
     and offset b (w = float(q) * s + b, b/s a whole number). Read those from the .ort models
     (written out as ONNX without optimisation, as fold_moonshine.py does) and find each one's
     folded fp32 initializer by its value.
  2. In the fp32 graph (and both branches of the decoder's If):
     - MatMul(x, W)  -> com.microsoft MatMulNBits (bits=8, blocks of 16 or 32, one scale per block
       equal to s, zero point -b/s), accuracy_level 4: onnxruntime's int8 kernel;
     - the tied token embedding: its Gather reads the same uint8 table the output projection
       uses (Gather -> Cast -> Add(-128) -> Mul(s) -> Add(b): exactly the fp32 values), so the
       embedding and its 54 MB transpose become one 13 MB table;
     - Conv(x, W)    -> Conv(x, DequantizeLinear(q, s, -b/s)).
  3. The encoder's self-attention (Mul, Transpose, MatMul, Softmax, MatMul, Transpose) becomes
     one com.microsoft MultiHeadAttention, which never keeps the heads x T x T score tensors.
     The decoder's two If branches become one graph (one_graph_decoder.py): onnxruntime prepares
     each branch on its own, so the merged decoder loaded in twice the time of one.
  4. Tensors of 1 KiB and more go to NAME.onnx.data, the large ones at 64 KiB-aligned offsets,
     which onnxruntime maps from disk instead of parsing and copying them.
  5. Compare with the fp32 models on a fixed input (both decoder branches): the same tokens, and
     outputs within int8 rounding, before the files replace older ones.
"""

import hashlib
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fold_moonshine import MODELS, name_graphs, session, subgraphs  # noqa: E402
from one_graph_decoder import one_graph  # noqa: E402

# Weights per block: onnxruntime's int8 kernel quantizes the activations per block too. With
# blocks of 32 Moonshine heard jfk's "ask not" as "as not" at some levels where fp32 did not
# (32 in the decoder and 16 in the encoder still did at one); with 16 in both every short-clip
# decode tried matches fp32, for ~20 MiB more of pre-packed scales and 10 % more decode time.
BLOCKS = {"encoder_model": 16, "decoder_model_merged": 16}
ALIGN = 65536


def graphs(graph):
    yield graph
    for _, _, sub in subgraphs(graph):
        yield from graphs(sub)


def digest(array):
    array = np.ascontiguousarray(array)
    return hashlib.sha1(array.tobytes() + str(array.shape).encode()).hexdigest()


def int8_weights(ort_path, workdir):
    """{digest of the folded fp32 value: (q, s, b, transposed)} for every int8 weight."""
    unoptimised = os.path.join(workdir, "int8.onnx")
    session(ort_path, optimized_out=unoptimised)
    model = onnx.load(unoptimised)
    os.unlink(unoptimised)
    name_graphs(model.graph, "main")
    graph = model.graph
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    consumers = {}
    for g in graphs(graph):
        for node in g.node:
            for name in node.input:
                consumers.setdefault(name, []).append(node)
    found = {}
    for node in graph.node:
        q = values.get(node.input[0]) if node.op_type == "Cast" else None
        if q is None or q.dtype != np.int8:
            continue
        mul = consumers[node.output[0]][0]
        add = consumers[mul.output[0]][0]
        if mul.op_type != "Mul" or add.op_type != "Add":
            raise SystemExit(f"{ort_path}: int8 weight {node.input[0]} is not Cast -> Mul -> Add")
        s = values[next(i for i in mul.input if i != node.output[0])]
        b = values[next(i for i in add.input if i != mul.output[0])]
        if s.size != 1 or b.size != 1:
            raise SystemExit(f"{ort_path}: weight {node.input[0]} is not quantised per tensor")
        s, b = np.float32(s.ravel()[0]), np.float32(b.ravel()[0])
        w = q.astype(np.float32) * s + b
        found[digest(w)] = (q, s, b, False)
        if q.ndim == 2:
            found[digest(w.T)] = (q, s, b, True)
    return found


class Rewriter:
    """Rewrites one folded model's weights to int8 tables shared through the outer graph."""

    def __init__(self, model, weights, block):
        self.model = model
        self.block = block
        self.tables = {}
        self.quantised = {}
        for g in graphs(model.graph):
            for t in g.initializer:
                if t.data_type == TensorProto.FLOAT:
                    known = weights.get(digest(numpy_helper.to_array(t)))
                    if known:
                        self.quantised[t.name] = known

    def table(self, array, name):
        if name not in self.tables:
            self.tables[name] = numpy_helper.from_array(array, name)
        return name

    @staticmethod
    def zero_point(s, b):
        z = -float(b) / float(s)
        if abs(z - round(z)) > 1e-3 or not -128 <= round(z) <= 127:
            raise SystemExit(f"offset {b} is not a whole int8 step of scale {s}")
        return int(round(z))

    def nbits(self, rows, s, b):
        """MatMulNBits tables for int8 `rows` [N, K]: uint8 blocks, scales, zero points."""
        base = "ct_q8_" + digest(rows)[:12]
        n, k = rows.shape
        blocks = (k + self.block - 1) // self.block
        z = self.zero_point(s, b) + 128
        data = (rows.astype(np.int16) + 128).astype(np.uint8)
        if blocks * self.block != k:
            data = np.concatenate([data, np.full((n, blocks * self.block - k), z, np.uint8)], 1)
        self.table(data.reshape(n, blocks, self.block), base + "_B")
        self.table(np.full(n * blocks, s, np.float32), base + "_scales")
        self.table(np.full(n * blocks, z, np.uint8), base + "_zero")
        return base, n, k

    def matmul(self, node):
        q, s, b, transposed = self.quantised[node.input[1]]
        rows = q if transposed else np.ascontiguousarray(q.T)  # MatMul's B is [K, N]
        base, n, k = self.nbits(rows, s, b)
        return [
            helper.make_node(
                "MatMulNBits", [node.input[0], base + "_B", base + "_scales", base + "_zero"], list(node.output),
                name=node.name + "_q8", domain="com.microsoft", K=k, N=n, bits=8, block_size=self.block,
                accuracy_level=4)
        ]

    def gather(self, node):
        q, s, b, _ = self.quantised[node.input[0]]
        base, _, k = self.nbits(q, s, b)
        if k % self.block:
            raise SystemExit("the embedding width is not a multiple of the block size")
        p = node.name or node.output[0]
        shape = self.table(np.array([0, 0, k], np.int64), f"ct_q8_row_{k}")
        minus = self.table(np.array(-128, np.float32), "ct_q8_minus128")
        scale = self.table(np.array(s, np.float32), base + "_s")
        offset = self.table(np.array(b, np.float32), base + "_b")
        return [
            helper.make_node("Gather", [base + "_B", node.input[1]], [p + "_rows"], axis=0),
            helper.make_node("Reshape", [p + "_rows", shape], [p + "_flat"]),
            helper.make_node("Cast", [p + "_flat"], [p + "_float"], to=TensorProto.FLOAT),
            helper.make_node("Add", [p + "_float", minus], [p + "_signed"]),
            helper.make_node("Mul", [p + "_signed", scale], [p + "_scaled"]),
            helper.make_node("Add", [p + "_scaled", offset], list(node.output)),
        ]

    def conv(self, node):
        q, s, b, _ = self.quantised[node.input[1]]
        base = "ct_q8_" + digest(q)[:12]
        self.table(q, base + "_W")
        self.table(np.array(s, np.float32), base + "_s")
        self.table(np.array(self.zero_point(s, b), np.int8), base + "_z")
        dequantise = helper.make_node("DequantizeLinear", [base + "_W", base + "_s", base + "_z"], [base + "_w"])
        conv = onnx.NodeProto()
        conv.CopyFrom(node)
        conv.input[1] = base + "_w"
        return [dequantise, conv]

    def rewrite(self):
        for g in graphs(self.model.graph):
            nodes = []
            for node in g.node:
                if node.op_type == "MatMul" and node.input[1] in self.quantised:
                    nodes += self.matmul(node)
                elif node.op_type == "Gather" and node.input[0] in self.quantised:
                    nodes += self.gather(node)
                elif node.op_type == "Conv" and node.input[1] in self.quantised:
                    nodes += self.conv(node)
                else:
                    nodes.append(node)
            del g.node[:]
            g.node.extend(nodes)
        self.model.graph.initializer.extend(self.tables.values())
        drop_unused(self.model.graph)
        left = [t.name for g in graphs(self.model.graph) for t in g.initializer if t.name in self.quantised]
        if left:
            raise SystemExit(f"fp32 weights left after the rewrite: {left[:3]}")


def drop_unused(graph):
    """Removes nodes whose outputs nobody reads and initializers nobody uses, in every graph."""
    while True:
        used = {o.name for o in graph.output}
        for g in graphs(graph):
            for node in g.node:
                used.update(node.input)
        for g in graphs(graph):
            used.update(o.name for o in g.output)
        removed = 0
        for g in graphs(graph):
            keep = [n for n in g.node if any(o in used for o in n.output)]
            removed += len(g.node) - len(keep)
            del g.node[:]
            g.node.extend(keep)
        if not removed:
            break
    for g in graphs(graph):
        keep = [t for t in g.initializer if t.name in used]
        del g.initializer[:]
        g.initializer.extend(keep)


def fuse_attention(model):
    """Encoder self-attention -> com.microsoft MultiHeadAttention (query BSD, key/value BNSH).
    Returns how many blocks were fused."""
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def scaled(mul):
        constant = next(i for i in mul.input if i in constants)
        return next(i for i in mul.input if i != constant), float(constants[constant].ravel()[0])

    replacements, gone = {}, set()
    for i, softmax in enumerate([n for n in graph.node if n.op_type == "Softmax"]):
        scores = producer[softmax.input[0]]
        scale_q, scale_k = producer[scores.input[0]], producer[scores.input[1]]
        (query, a), (key_t, b) = scaled(scale_q), scaled(scale_k)
        transpose_k = producer[key_t]
        context = consumers[softmax.output[0]][0]
        transpose_out = consumers[context.output[0]][0]
        reshape = consumers[transpose_out.output[0]][0]
        if (transpose_k.op_type != "Transpose" or list(transpose_k.attribute[0].ints) != [0, 1, 3, 2]
                or transpose_out.op_type != "Transpose" or reshape.op_type != "Reshape"):
            raise SystemExit("encoder attention does not have the expected layout")
        # The scale is 1/sqrt(head size); the width (heads x head size) is what the output
        # projection (already MatMulNBits) takes.
        projection = consumers[reshape.output[0]][0]
        width = next(x.i for x in projection.attribute if x.name == "K")
        head = round(1 / (a * b) ** 2)
        p = f"ct_mha{i}"
        shape = f"ct_mha_shape_{width}"
        if shape not in constants:
            graph.initializer.append(numpy_helper.from_array(np.array([0, 0, width], np.int64), shape))
            constants[shape] = None
        replacements[id(reshape)] = [
            helper.make_node("Transpose", [query], [p + "_bsnh"], perm=[0, 2, 1, 3]),
            helper.make_node("Reshape", [p + "_bsnh", shape], [p + "_q"]),
            helper.make_node(
                "MultiHeadAttention", [p + "_q", transpose_k.input[0], context.input[1]], list(reshape.output),
                domain="com.microsoft", num_heads=width // head, scale=a * b),
        ]
        gone.update(id(n) for n in (scores, scale_q, scale_k, transpose_k, softmax, context, transpose_out, reshape))
    nodes = []
    for node in graph.node:
        if id(node) in replacements:
            nodes += replacements[id(node)]
        elif id(node) not in gone:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    drop_unused(graph)
    return len(replacements)


def save_external(model, path):
    """Saves the graph to `path` and every tensor of 1 KiB or more to `path`.data; those of
    64 KiB or more at aligned offsets, so onnxruntime maps them instead of copying."""
    data_name = os.path.basename(path) + ".data"
    with open(os.path.join(os.path.dirname(path), data_name), "wb") as data:
        for g in graphs(model.graph):
            for tensor in g.initializer:
                if len(tensor.raw_data) < 1024:
                    continue
                offset = data.tell()
                if len(tensor.raw_data) >= ALIGN:  # mapped, not copied: needs page alignment
                    data.write(b"\0" * (-offset % ALIGN))
                    offset += -offset % ALIGN
                data.write(tensor.raw_data)
                for key, value in (("location", data_name), ("offset", str(offset)),
                                   ("length", str(len(tensor.raw_data)))):
                    entry = tensor.external_data.add()
                    entry.key, entry.value = key, value
                tensor.data_location = TensorProto.EXTERNAL
                tensor.ClearField("raw_data")
    onnx.save(model, path)


def compact(name, ort_dir, fp32_dir, out_dir, work):
    weights = int8_weights(os.path.join(ort_dir, name + ".ort"), work)
    model = onnx.load(os.path.join(fp32_dir, name + ".onnx"))
    rewriter = Rewriter(model, weights, BLOCKS[name])
    rewriter.rewrite()
    fused = fuse_attention(model) if name == "encoder_model" else 0
    if name == "decoder_model_merged":
        one_graph(model)
        drop_unused(model.graph)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    model.metadata_props.add(key="captiontap_compacted", value=f"MatMulNBits bits=8 block={BLOCKS[name]} accuracy_level=4")
    onnx.checker.check_model(model)
    path = os.path.join(work, name + ".onnx")
    save_external(model, path)
    print(f"{name}: {len(rewriter.quantised)} weights int8, {fused} attention blocks fused, "
          f"{os.path.getsize(path + '.data') / 1e6:.0f} MB of weights", flush=True)
    return path


def verify(fp32_dir, files):
    """The same tokens as the fp32 models on a fixed input, outputs within int8 rounding."""
    audio = (np.random.default_rng(0).standard_normal((1, 32000)) * 0.1).astype(np.float32)
    (ha,) = session(os.path.join(fp32_dir, "encoder_model.onnx")).run(None, {"input_values": audio})
    (hb,) = session(files["encoder_model"]).run(None, {"input_values": audio})
    worst = float(np.max(np.abs(ha - hb))) / max(1.0, float(np.max(np.abs(ha))))
    dec_a = session(os.path.join(fp32_dir, "decoder_model_merged.onnx"))
    dec_b = session(files["decoder_model_merged"])
    past = [i.name for i in dec_a.get_inputs() if i.name.startswith("past_key_values.")]
    shape = next(i.shape for i in dec_a.get_inputs() if i.name == past[0])
    feeds = {"input_ids": np.array([[1]], dtype=np.int64), "encoder_hidden_states": ha,
             "use_cache_branch": np.array([False])}
    feeds.update({n: np.zeros((1, shape[1], 0, shape[3]), dtype=np.float32) for n in past})
    for step in range(4):
        out_a, out_b = dec_a.run(None, feeds), dec_b.run(None, feeds)
        token = int(np.argmax(out_a[0][0, -1]))
        if token != int(np.argmax(out_b[0][0, -1])):
            raise SystemExit(f"the compact decoder picks a different token at step {step}")
        logits = out_a[0][0, -1]
        worst = max(worst, float(np.max(np.abs(logits - out_b[0][0, -1]))) / max(1.0, float(np.max(np.abs(logits)))))
        presents = {m.name: v for m, v in zip(dec_a.get_outputs(), out_a)}
        feeds["input_ids"] = np.array([[token]], dtype=np.int64)
        feeds["use_cache_branch"] = np.array([True])
        for n in past:  # the cached branch returns no cross-attention keys: those stay
            present = presents[n.replace("past_key_values.", "present.")]
            if present.size:
                feeds[n] = present
    if worst > 0.1:
        raise SystemExit(f"the compact models differ from fp32 by {worst:.3g} (relative)")
    return worst


def main(argv):
    if len(argv) != 4:
        raise SystemExit(__doc__.split("\n\n")[1])
    ort_dir, fp32_dir, out_dir = argv[1:]
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".compact-", dir=out_dir) as work:
        files = {name: compact(name, ort_dir, fp32_dir, out_dir, work) for name in MODELS}
        worst = verify(fp32_dir, files)
        for name in MODELS:  # only verified models replace the old ones
            for suffix in (".onnx.data", ".onnx"):
                os.replace(os.path.join(work, name + suffix), os.path.join(out_dir, name + suffix))
    print(f"verified against the fp32 models: same tokens, max relative difference {worst:.2g}")


if __name__ == "__main__":
    main(sys.argv)
