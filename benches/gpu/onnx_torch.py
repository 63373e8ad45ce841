"""The built-in scorers' ONNX graphs evaluated with PyTorch operators, on any torch device: the reference
side of the GPU comparison, where onnxruntime has no CUDA provider. Covers the operators the three files use
(Conv, BatchNormalization, Gemm, pools, Pad, element-wise ops, Flatten, Softmax) and refuses any other.

    graph = TorchGraph("fixtures/models/gender-v1.onnx", "cuda")
    probabilities = graph(torch.from_numpy(x).cuda())

`python3 benches/gpu/onnx_torch.py` checks every scorer against onnxruntime on random inputs (CPU).
"""
import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def symmetric(pads):
    """ONNX's [begin..., end...] pads as torch's symmetric padding, or None if they differ."""
    half = len(pads) // 2
    return tuple(pads[:half]) if list(pads[:half]) == list(pads[half:]) else None


def spatial_pad(x, pads):
    """Zero padding of the spatial axes from ONNX's [y0, x0, y1, x1]."""
    return F.pad(x, (pads[1], pads[3], pads[0], pads[2]))


def conv(x, w, b=None, kernel_shape=None, pads=(0, 0, 0, 0), strides=(1, 1), group=1, dilations=(1, 1)):
    padding = symmetric(pads)
    if padding is None:
        x, padding = spatial_pad(x, pads), (0, 0)
    return F.conv2d(x, w, b, tuple(strides), padding, tuple(dilations), group)


def pool(kind):
    def run(x, kernel_shape, pads=(0, 0, 0, 0), strides=None, ceil_mode=0, count_include_pad=0):
        padding = symmetric(pads)
        strides = tuple(strides or kernel_shape)
        if padding is None:
            # Outside the map a max pool sees -inf; an average pool would need its divisor changed.
            assert kind == "max", "asymmetric average-pool padding"
            x, padding = F.pad(x, (pads[1], pads[3], pads[0], pads[2]), value=float("-inf")), (0, 0)
        if kind == "max":
            return F.max_pool2d(x, tuple(kernel_shape), strides, padding, ceil_mode=bool(ceil_mode))
        return F.avg_pool2d(x, tuple(kernel_shape), strides, padding, bool(ceil_mode), bool(count_include_pad))
    return run


def gemm(a, b, c=None, alpha=1.0, beta=1.0, transA=0, transB=0):
    a, b = (a.t() if transA else a), (b.t() if transB else b)
    y = alpha * (a @ b)
    return y + beta * c if c is not None else y


def batch_norm(x, scale, bias, mean, var, epsilon=1e-5, momentum=0.9):
    return F.batch_norm(x, mean, var, scale, bias, False, 0.0, epsilon)


def pad(x, pads=None, value=None, mode=b"constant"):
    assert mode in (b"constant", "constant"), f"Pad mode {mode}"
    pads = [int(p) for p in pads.tolist()]
    half = len(pads) // 2
    torch_pads = []
    for axis in reversed(range(half)):
        torch_pads += [pads[axis], pads[axis + half]]
    return F.pad(x, torch_pads, value=float(value) if value is not None else 0.0)


OPS = {
    "Conv": conv,
    "BatchNormalization": batch_norm,
    "Gemm": gemm,
    "MaxPool": pool("max"),
    "AveragePool": pool("avg"),
    "GlobalAveragePool": lambda x: x.mean(dim=(2, 3), keepdim=True),
    "Pad": pad,
    "Relu": torch.relu,
    "Add": torch.add,
    "Mul": torch.mul,
    "Flatten": lambda x, axis=1: x.flatten(axis),
    "Softmax": lambda x, axis=-1: torch.softmax(x, axis),
}


class TorchGraph:
    """An ONNX file's graph as PyTorch operations, its initialisers on `device`."""

    def __init__(self, path, device):
        model = onnx.load(path)
        self.graph = model.graph
        self.values = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()).to(device)
                       for t in self.graph.initializer}
        unknown = {n.op_type for n in self.graph.node} - set(OPS)
        assert not unknown, f"{path}: operators {sorted(unknown)} are not translated"
        self.input = self.graph.input[0].name
        self.output = self.graph.output[0].name

    def __call__(self, x):
        values = dict(self.values)
        values[self.input] = x
        for node in self.graph.node:
            inputs = [values[name] if name else None for name in node.input]
            kwargs = attributes(node)
            if node.op_type == "Pad" and "pads" not in kwargs:
                kwargs["pads"] = inputs[1].cpu()
                kwargs["value"] = inputs[2].cpu() if len(inputs) > 2 and inputs[2] is not None else None
                inputs = inputs[:1]
            values[node.output[0]] = OPS[node.op_type](*inputs, **kwargs)
        return values[self.output]


def check_against_onnxruntime():
    """Largest |difference| from onnxruntime per scorer, random inputs of the scorers' shapes."""
    import onnxruntime as ort
    shapes = {"gender-v1.onnx": (8, 3, 32, 32), "age-v1.onnx": (8, 3, 64, 64),
              "emotion_mini_xception.onnx": (8, 1, 64, 64)}
    for name, shape in shapes.items():
        path = os.path.join(ROOT, "fixtures/models", name)
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        want = session.run(None, {session.get_inputs()[0].name: x})[0]
        with torch.no_grad():
            got = TorchGraph(path, "cpu")(torch.from_numpy(x)).numpy()
        diff = float(np.abs(got - want).max())
        print(f"{name}: largest |difference| from onnxruntime {diff:.2e}")
        assert diff < 1e-4, name


if __name__ == "__main__":
    check_against_onnxruntime()
