#!/usr/bin/env python3
"""The ALeRCE stamp classifier in TensorFlow (and ONNX Runtime), for comparing `stampseq bench
infer` with them.

Builds the network of ../shared/data/alerce/alerce_stamp_classifier.json in TensorFlow from
the same safetensors weights stampseq imports, checks its probabilities against the
reference outputs of the original TensorFlow checkpoint (reference_inputs.safetensors:
580 real preprocessed alerts), then times batches of preprocessed alerts, the way the
issue's figure was taken (TensorFlow with oneDNN, batch 128, preprocessed inputs).

    python3 -m venv /tmp/tf && /tmp/tf/bin/pip install tensorflow-cpu tf2onnx onnxruntime
    /tmp/tf/bin/python scripts/bench-tensorflow.py [--data ../shared/data] [--batch 128] \
        [--engine tensorflow|onnxruntime|both]

`--engine onnxruntime` exports the same tf.function with tf2onnx (opset 17) and runs it in
ONNX Runtime (all graph optimisations, T intra-op threads, sequential execution), checked
against the same reference probabilities and timed on the same batches.
Result lines: `tensorflow: R alerts/s (batch N, T threads, oneDNN on|off)` and
`onnxruntime: R alerts/s (batch N, T threads, ONNX Runtime V)`.
Not part of the build or the tests: TensorFlow is not a dependency of stampseq.
"""

import argparse
import json
import os
import struct
import time

import numpy as np


def read_safetensors(path):
    dtypes = {"F32": np.float32, "F64": np.float64}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(body[a:b], dtype=dtypes[t["dtype"]]).reshape(t["shape"])
    return out


def build(tf, w):
    w = {k: v.astype(np.float32) for k, v in w.items()}
    eps = 1e-3
    # The weights become constants of the traced graph (created inside the function, not
    # captured), so that tf2onnx exports them as initialisers rather than inputs.
    c = {}

    def conv(x, name, padding):
        y = tf.nn.conv2d(x, c[name + ".weight"], strides=1, padding=padding)
        return tf.nn.relu(tf.nn.bias_add(y, c[name + ".bias"]))

    def dense(x, name, relu=True):
        y = tf.matmul(x, c[name + ".weight"]) + c[name + ".bias"]
        return tf.nn.relu(y) if relu else y

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 21, 21, 3], tf.float32),
            tf.TensorSpec([None, 26], tf.float32),
        ]
    )
    def probabilities(stamps, features):
        c.update({k: tf.constant(v) for k, v in w.items()})
        bn_scale = c["bn_features.gamma"] / tf.sqrt(c["bn_features.moving_variance"] + eps)
        bn_shift = c["bn_features.beta"] - c["bn_features.moving_mean"] * bn_scale
        b = tf.shape(stamps)[0]
        x = tf.concat([tf.image.rot90(stamps, k) for k in range(4)], axis=0)
        x = tf.pad(x, [[0, 0], [3, 3], [3, 3], [0, 0]])
        x = conv(x, "conv1", "VALID")
        x = conv(x, "conv2", "SAME")
        x = tf.nn.max_pool2d(x, 2, 2, "VALID")
        x = conv(x, "conv3", "SAME")
        x = conv(x, "conv4", "SAME")
        x = conv(x, "conv5", "SAME")
        x = tf.nn.max_pool2d(x, 2, 2, "VALID")
        x = dense(tf.reshape(x, [-1, 2304]), "fc1")
        x = tf.reduce_mean(tf.reshape(x, [4, b, 64]), axis=0)
        f = features * bn_scale + bn_shift
        x = dense(tf.concat([x, f], axis=1), "fc2")
        x = dense(x, "fc3")
        return tf.nn.softmax(dense(x, "logits", relu=False))

    return probabilities


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--iterations", type=int, default=50)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--engine", choices=["tensorflow", "onnxruntime", "both"], default="tensorflow")
    args = p.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    alerce = os.path.join(args.data, "alerce")
    weights = read_safetensors(os.path.join(alerce, "alerce_stamp_classifier.safetensors"))
    ref = read_safetensors(os.path.join(alerce, "reference_inputs.safetensors"))
    model = build(tf, weights)

    stamps = ref["stamps"].astype(np.float32)
    features = ref["features"].astype(np.float32)
    reps = -(-args.batch // len(stamps))
    xs = np.concatenate([stamps] * reps)[: args.batch]
    fs = np.concatenate([features] * reps)[: args.batch]
    if args.engine in ("tensorflow", "both"):
        run = lambda s, f: model(s, f).numpy()  # noqa: E731
        check(run, stamps, features, ref, "TensorFlow")
        xt, ft = tf.constant(xs), tf.constant(fs)
        median, best = timed(lambda: model(xt, ft).numpy(), args.iterations)
        onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"
        print(
            f"{args.iterations} batches of {args.batch}: median {median:.4f} s, best {best:.4f} s "
            f"(TensorFlow {tf.__version__})"
        )
        print(
            f"tensorflow: {args.batch / median:.0f} alerts/s (batch {args.batch}, "
            f"{args.threads} threads, oneDNN {'on' if onednn else 'off'})"
        )
    if args.engine in ("onnxruntime", "both"):
        import onnxruntime as ort
        import tf2onnx

        graph, _ = tf2onnx.convert.from_function(
            model, input_signature=model.input_signature, opset=17
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(
            graph.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        names = [i.name for i in session.get_inputs()]
        run = lambda s, f: session.run(None, {names[0]: s, names[1]: f})[0]  # noqa: E731
        check(run, stamps, features, ref, "ONNX Runtime")
        median, best = timed(lambda: run(xs, fs), args.iterations)
        print(
            f"{args.iterations} batches of {args.batch}: median {median:.4f} s, best {best:.4f} s "
            f"(ONNX Runtime {ort.__version__}, tf2onnx {tf2onnx.__version__})"
        )
        print(
            f"onnxruntime: {args.batch / median:.0f} alerts/s (batch {args.batch}, "
            f"{args.threads} threads, ONNX Runtime {ort.__version__})"
        )


def check(run, stamps, features, ref, engine):
    probs = run(stamps, features)
    err = float(np.abs(probs - ref["tf_probs"]).max())
    print(f"{engine}: largest difference to the checkpoint's probabilities, 580 alerts: {err:.2e}")
    if err > 1e-4:
        raise SystemExit(f"the {engine} network does not reproduce the checkpoint")


def timed(step, iterations):
    for _ in range(3):
        step()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2], times[0]

if __name__ == "__main__":
    main()
