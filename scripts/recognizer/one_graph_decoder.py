"""Moonshine's merged decoder as one graph, for a faster load.

The merged decoder is one If over two branches that share every weight: `else` runs once per
decode (the first token, no cache; it also computes the cross-attention keys and values from the
encoder's output), `then` for every later token (self-attention cache; the cross-attention keys
and values passed back in). onnxruntime prepares each branch on its own (graph optimisation,
pre-packed int8 matrices, memory plans), so the decoder loaded in 0.92-0.95 s where one branch
alone takes 0.3-0.4 s (2-core machine, onnxruntime 1.28).

sherpa-onnx gives the first call empty (length 0) self-attention caches, and on those the `then`
branch computes exactly what the `else` branch does, except where the cross-attention keys and
values come from. So the main graph becomes the `then` branch, and in each layer only the
cross-attention core (scores, softmax, weighted values) sits in a small If of its own:

  - later calls: the core on the keys and values passed in; present.N.encoder.* stay the empty
    tensors the cached branch returned;
  - the first call: the keys and values projected from the encoder's output (the `else`
    branch's MatMulNBits, Reshape, Transpose), the same core, and those keys and values
    returned as present.N.encoder.*.

Only the small attention context leaves each If, so later tokens copy nothing large. Inputs,
outputs and their meaning are unchanged; compact_moonshine.py's verification runs the result
against the fp32 merged decoder step by step.
"""

from onnx import TensorProto, helper


def vinfo(name):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, None)


def projection(producer, present):
    """The `else` branch's Transpose(Reshape(MatMulNBits(encoder_hidden_states))) making
    `present` (`producer`: the branch's nodes by output). Its Reshape takes the batch size from
    the decoder's hidden state; a constant shape (0 copies the batch) makes the projection depend
    on the encoder's output alone."""
    transpose = producer[present]
    reshape = producer.get(transpose.input[0])
    matmul = producer.get(reshape.input[0]) if reshape is not None else None
    if (transpose.op_type != "Transpose" or reshape is None or reshape.op_type != "Reshape" or matmul is None
            or matmul.op_type != "MatMulNBits" or matmul.input[0] != "encoder_hidden_states"):
        raise SystemExit(f"{present} is not a projection of the encoder's output")
    return matmul, list(transpose.attribute[0].ints)


def attention_core(cached, key, value):
    """The cached branch's nodes between the cross-attention keys/values and its context: those
    that read `key` or `value` (directly or not) and that the node reading `value` depends on."""
    downstream, names = set(), {key, value}
    for node in cached.node:  # topological order
        if names.intersection(node.input):
            downstream.add(id(node))
            names.update(node.output)
    (reader,) = [n for n in cached.node if value in n.input]
    producer = {o: n for n in cached.node for o in n.output}
    upstream, stack = set(), [reader]
    while stack:
        node = stack.pop()
        if id(node) in upstream:
            continue
        upstream.add(id(node))
        stack.extend(producer[i] for i in node.input if i in producer)
    core = [n for n in cached.node if id(n) in downstream and id(n) in upstream]
    if len(core) > 8 or reader is not core[-1]:
        raise SystemExit(f"the cross-attention around {key} does not have the expected layout")
    return core


def copied(nodes, prefix, rename):
    """Copies of `nodes` whose outputs (and names) carry `prefix`; inputs renamed by `rename`
    first, then by the copies' own outputs."""
    made = {o: prefix + o for n in nodes for o in n.output}
    out = []
    for node in nodes:
        c = helper.make_node(node.op_type, [made.get(i, rename.get(i, i)) for i in node.input],
                             [made[o] for o in node.output], name=prefix + (node.name or node.output[0]),
                             domain=node.domain)
        c.attribute.extend(node.attribute)
        out.append(c)
    return out, made


def later_branch(core, layer, empties):
    nodes, made = copied(core, f"ct_later{layer}/", {})
    context = made[core[-1].output[0]]
    inits = []
    for t in empties:
        e = type(t)()
        e.CopyFrom(t)
        e.name = f"ct_later{layer}/{t.name}"
        inits.append(e)
    outputs = [context] + [t.name for t in inits]
    return helper.make_graph(nodes, f"ct_later{layer}", [], [vinfo(o) for o in outputs], initializer=inits)


def first_branch(producer, core, layer, pasts, presents, heads, head_size):
    p = f"ct_first{layer}/"
    shape = helper.make_tensor(p + "shape", TensorProto.INT64, [4], [0, -1, heads, head_size])
    nodes, computed = [], {}
    for cross, present in zip(pasts, presents):
        matmul, perm = projection(producer, present)
        q = p + cross
        mm = helper.make_node("MatMulNBits", list(matmul.input), [q + "/proj"], name=q + "/proj", domain=matmul.domain)
        mm.attribute.extend(matmul.attribute)
        nodes += [mm, helper.make_node("Reshape", [q + "/proj", shape.name], [q + "/heads"], name=q + "/heads"),
                  helper.make_node("Transpose", [q + "/heads"], [q], name=q, perm=perm),
                  helper.make_node("Identity", [q], [q + "/present"], name=q + "/present")]
        computed[cross] = q
    attention, made = copied(core, p, computed)
    nodes += attention
    outputs = [made[core[-1].output[0]]] + [computed[cross] + "/present" for cross in pasts]
    return helper.make_graph(nodes, p[:-1], [], [vinfo(o) for o in outputs], initializer=[shape])


def one_graph(model):
    """Rewrites the merged decoder in place; returns how many layers were joined."""
    graph = model.graph
    if len(graph.node) != 1 or graph.node[0].op_type != "If":
        raise SystemExit("the decoder is not one If over a cached and an uncached branch")
    merged = graph.node[0]
    branches = {a.name: a.g for a in merged.attribute}
    cached, first = branches["then_branch"], branches["else_branch"]
    empty = {t.name: t for t in cached.initializer}
    producer = {o: n for n in first.node for o in n.output}
    layers = sorted({int(o.name.split(".")[1]) for o in graph.output if ".encoder." in o.name})
    nodes = list(cached.node)
    for layer in layers:
        key, value = f"past_key_values.{layer}.encoder.key", f"past_key_values.{layer}.encoder.value"
        dims = next(i for i in graph.input if i.name == key).type.tensor_type.shape.dim
        presents = [f"present.{layer}.encoder.key", f"present.{layer}.encoder.value"]
        if any(p not in empty for p in presents):
            raise SystemExit("the cached branch does not return empty cross-attention outputs")
        core = attention_core(cached, key, value)
        select = helper.make_node(
            "If", [merged.input[0]], [core[-1].output[0]] + presents, name=f"ct_cross_attention{layer}",
            then_branch=later_branch(core, layer, [empty[p] for p in presents]),
            else_branch=first_branch(producer, core, layer, (key, value), presents, dims[1].dim_value, dims[3].dim_value))
        at = max(nodes.index(n) for n in core)
        gone = {id(n) for n in core}
        nodes = [select if i == at else n for i, n in enumerate(nodes) if i == at or id(n) not in gone]
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(t for t in cached.initializer if not t.name.startswith("present."))
    return len(layers)
