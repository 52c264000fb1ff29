"""The numpy reference of apprentice's exported policies: `RUN/export.safetensors` read with
numpy alone (no apprentice, no torch), reproducing the actions apprentice computes.

    policy = load("runs/pusht/export.safetensors")
    chunk = policy.chunk(history, noise)   # flow, diffusion, cvae: H scaled actions

    policy = load("runs/reacher/export.safetensors")
    policy.reset(); action = policy.act(obs)   # mlp (stacked, transformer, GRU), deterministic head

`history` is the episode's observations so far, newest last (the policy conditions on the last
`policy.history` of them, repeating the first where the episode is younger). Scaled actions
lie in [-1, 1]; `policy.unscale` maps one onto the scenario's bounds. The tests run this file
against apprentice's own sampler, so it is the documentation of every exported network.
"""

import json
import struct
import sys

import numpy as np


def read(path):
    """(tensors by Burn's parameter name, the `apprentice.policy` description)."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    meta = json.loads(header["__metadata__"]["apprentice.policy"])
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        tensors[name] = np.frombuffer(raw[8 + n + a : 8 + n + b], dtype=np.float32).reshape(t["shape"])
    return tensors, meta


ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "silu": lambda x: x / (1 + np.exp(-x)),
    # Burn's gelu is the exact one (erf); math.erf elementwise keeps this numpy-only.
    "gelu": lambda x: 0.5 * x * (1 + np.vectorize(__import__("math").erf)(x / np.sqrt(2))),
}


def linear(w, prefix, x):
    """Burn's linear layer: weight [in, out]."""
    return x @ w[prefix + ".weight"] + w[prefix + ".bias"]


def mlp(w, prefix, x, activation):
    layers = sum(1 for k in w if k.startswith(prefix + ".layers.") and k.endswith(".weight"))
    for i in range(layers):
        x = linear(w, f"{prefix}.layers.{i}", x)
        if i < layers - 1:
            x = activation(x)
    return x


def conv1d(w, prefix, x, stride=1):
    """Burn's Conv1d on x [channels, length]: weight [out, in, kernel], padding kernel // 2."""
    weight, bias = w[prefix + ".weight"], w[prefix + ".bias"]
    k = weight.shape[2]
    padded = np.pad(x, ((0, 0), (k // 2, k // 2)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, k, axis=1)[:, ::stride]  # [in, out_len, k]
    return np.einsum("oik,itk->ot", weight, windows) + bias[:, None]


def group_norm(w, prefix, x, eps=1e-5):
    channels = x.shape[0]
    groups = 8 if channels % 8 == 0 else 1
    g = x.reshape(groups, -1)
    g = (g - g.mean(axis=1, keepdims=True)) / np.sqrt(g.var(axis=1, keepdims=True) + eps)
    return g.reshape(x.shape) * w[prefix + ".gamma"][:, None] + w[prefix + ".beta"][:, None]


def res_block(w, prefix, x, embedding, activation):
    h = activation(group_norm(w, prefix + ".norm1", conv1d(w, prefix + ".conv1", x)))
    film = linear(w, prefix + ".film", embedding)
    c = h.shape[0]
    h = h + h * film[:c, None] + film[c:, None]
    h = activation(group_norm(w, prefix + ".norm2", conv1d(w, prefix + ".conv2", h)))
    skip = conv1d(w, prefix + ".skip", x) if prefix + ".skip.weight" in w else x
    return h + skip


def unet(w, cond, noisy, feats, horizon, activation):
    """The 1-D U-Net denoiser (`policy.denoiser = "unet"`): the chunk as [action_dim, horizon]."""
    embedding = activation(linear(w, "unet.embed", np.concatenate([cond, feats])))
    h = noisy.reshape(horizon, -1).T
    levels = sum(1 for k in w if k.startswith("unet.down.") and k.endswith(".conv1.weight"))
    skips = []
    for l in range(levels):
        h = res_block(w, f"unet.down.{l}", h, embedding, activation)
        if l < levels - 1:
            skips.append(h)
            h = conv1d(w, f"unet.downsample.{l}", h, stride=2)
    h = res_block(w, "unet.middle", h, embedding, activation)
    for l in range(levels - 1):
        skip = skips.pop()
        h = np.repeat(h, 2, axis=1)[:, : skip.shape[1]]
        h = res_block(w, f"unet.up.{l}", np.concatenate([h, skip]), embedding, activation)
    return conv1d(w, "unet.out", h).T.reshape(-1)


def time_features(t):
    return np.concatenate([[np.sin(2 * np.pi * 2**j * t / 8), np.cos(2 * np.pi * 2**j * t / 8)] for j in range(8)])


def cosine_schedule(levels, s=0.008):
    """ᾱ_k of Nichol & Dhariwal's cosine schedule, β capped at 0.999 (as apprentice computes it)."""
    f = lambda k: np.cos(((k / levels) + s) / (1 + s) * np.pi / 2) ** 2
    alpha_bar, product = [], 1.0
    for k in range(levels):
        product *= 1 - min(1 - f(k + 1.0) / f(float(k)), 0.999)
        alpha_bar.append(np.float32(product))
    return alpha_bar


class ChunkPolicy:
    """An exported `flow`, `diffusion` or `cvae` policy."""

    def __init__(self, weights, meta):
        self.w, self.meta, self.p = weights, meta, meta["policy"]
        self.activation = ACTIVATIONS[self.p["activation"]]
        self.mean = np.array(meta["normalizer"]["mean"], dtype=np.float32)
        self.std = np.array(meta["normalizer"]["std"], dtype=np.float32)

    def condition(self, history):
        k = self.p["history"]
        window = [history[0]] * max(0, k - len(history)) + list(history[-k:])
        return np.concatenate([(np.asarray(o, dtype=np.float32) - self.mean) / self.std for o in window])

    def network(self, cond, x, t):
        feats = time_features(t) if t is not None else np.zeros(0, dtype=np.float32)
        if self.p.get("denoiser", "mlp") == "unet":
            return unet(self.w, cond, x, feats, self.p["horizon"], self.activation)
        return mlp(self.w, "mlp", np.concatenate([cond, x, feats]).astype(np.float32), self.activation)

    def chunk(self, history, noise):
        """H scaled actions from the noise (the chunk's own width, or the CVAE's latent)."""
        cond, x, p = self.condition(history), np.asarray(noise, dtype=np.float32), self.p
        steps = max(p["inference_steps"], 1)
        if self.meta["kind"] == "cvae":
            x = self.network(cond, x, None)
        elif self.meta["kind"] == "flow":
            for k in range(steps):
                x = x + self.network(cond, x, k / steps) / steps
        else:
            x = self.ddim(cond, x, steps)
        return np.clip(x, -1, 1).reshape(p["horizon"], -1)

    def ddim(self, cond, x, steps):
        ab = cosine_schedule(self.p["diffusion_steps"])
        last = len(ab) - 1
        steps = min(steps, len(ab))
        levels = [last - i * last // steps for i in range(steps)]
        for i, k in enumerate(levels):
            a, a_prev = ab[k], ab[levels[i + 1]] if i + 1 < len(levels) else 1.0
            out = self.network(cond, x, (k + 1) / len(ab))
            x0 = out if self.p["predict"] == "chunk" else (x - np.sqrt(1 - a) * out) / np.sqrt(a)
            x0 = np.clip(x0, -1, 1)
            eps = (x - np.sqrt(a) * x0) / np.sqrt(1 - a)
            x = np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps
        return x

    def unscale(self, scaled):
        return unscale(self.meta, scaled)


def unscale(meta, scaled):
    """A scaled action in [-1, 1] mapped onto the scenario's action bounds."""
    low, high = np.array(meta["action_space"]["low"]), np.array(meta["action_space"]["high"])
    return low + (np.clip(scaled, -1, 1) + 1) / 2 * (high - low)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def gru(w, prefix, x, h):
    """One step of Burn's GRU (reset applied after the hidden product, as its default)."""
    gate = lambda g, reset=1.0: linear(w, f"{prefix}.{g}.input_transform", x) + reset * linear(
        w, f"{prefix}.{g}.hidden_transform", h
    )
    z, r = sigmoid(gate("update_gate")), sigmoid(gate("reset_gate"))
    n = np.tanh(gate("new_gate", r))
    return (1 - z) * n + z * h


def layer_norm(w, prefix, x, eps=1e-5):
    mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w[prefix + ".gamma"] + w[prefix + ".beta"]


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def transformer(w, prefix, tokens, heads):
    """The history transformer: tokens [L, obs] (oldest first) → the newest token's features.
    Burn's pre-norm encoder layer normalizes with `norm_2` before attention and `norm_1`
    before the feed-forward (GELU); attention is causal."""
    h = linear(w, prefix + ".embed", tokens) + w[prefix + ".position"]
    length = h.shape[0]
    future = np.triu(np.ones((length, length), dtype=bool), 1)
    layers = sum(1 for k in w if k.startswith(prefix + ".encoder.layers.") and k.endswith(".mha.query.weight"))
    for i in range(layers):
        p = f"{prefix}.encoder.layers.{i}"
        r = layer_norm(w, p + ".norm_2", h)
        q, k, v = (linear(w, f"{p}.mha.{n}", r).reshape(length, heads, -1).transpose(1, 0, 2) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[2])
        scores[:, future] = -1e9
        context = (softmax(scores) @ v).transpose(1, 0, 2).reshape(length, -1)
        h = h + linear(w, p + ".mha.output", context)
        r = layer_norm(w, p + ".norm_1", h)
        h = h + linear(w, p + ".pwff.linear_outer", ACTIVATIONS["gelu"](linear(w, p + ".pwff.linear_inner", r)))
    return h[-1]


class MlpPolicy:
    """An exported `mlp` policy acting by its mode: the last `policy.history` observations
    stacked (`policy.kind = "mlp"`), read as tokens by the transformer (`"transformer"`), or a
    GRU's hidden state (`"gru"`), into the MLP `nets.0`. For Discrete and MultiDiscrete
    actions its outputs are logits, one block per choice, and the action is each block's
    argmax. For Box actions a deterministic head's output, or a Gaussian head's mean (its
    first `dims` outputs; tanh-squashed for `tanh_gaussian`), is clipped to [-1, 1] and mapped
    onto the action bounds."""

    def __init__(self, weights, meta):
        self.w, self.meta, self.p = weights, meta, meta["policy"]
        space = meta["action_space"]
        if space["type"] == "box" and self.p["head"] not in ("deterministic", "gaussian", "tanh_gaussian"):
            raise ValueError(f"no numpy reference yet for head {self.p['head']!r}, kind {self.p.get('kind')!r}")
        self.choices = {"discrete": lambda: [space.get("n")], "multi_discrete": lambda: space.get("nvec")}.get(
            space["type"], lambda: None
        )()
        self.dims = len(space.get("low", []))
        self.activation = ACTIVATIONS[self.p["activation"]]
        self.mean = np.array(meta["normalizer"]["mean"], dtype=np.float32)
        self.std = np.array(meta["normalizer"]["std"], dtype=np.float32)
        self.reset()

    def reset(self):
        self.recent, self.state = [], np.zeros(self.p["width"], dtype=np.float32)

    def act(self, obs):
        x = (np.asarray(obs, dtype=np.float32) - self.mean) / self.std
        if self.p.get("kind", "mlp") == "gru":
            self.state = gru(self.w, "encoder.Recurrent.gru", x, self.state)
            features = self.state
        else:
            k = self.p["history"]
            self.recent = (self.recent + [x])[-k:]
            window = [self.recent[0]] * (k - len(self.recent)) + self.recent
            if self.p.get("kind", "mlp") == "transformer":
                features = transformer(self.w, "encoder.Transformer", np.stack(window), self.p["heads"])
            else:
                features = np.concatenate(window)
        out = mlp(self.w, "nets.0", features.astype(np.float32), self.activation)
        if self.choices is not None:
            ends = np.cumsum(self.choices)
            picks = [int(np.argmax(out[end - n : end])) for n, end in zip(self.choices, ends)]
            return picks[0] if self.meta["action_space"]["type"] == "discrete" else np.array(picks)
        mean = out[: self.dims]
        return unscale(self.meta, np.tanh(mean) if self.p["head"] == "tanh_gaussian" else mean)


def load(path):
    weights, meta = read(path)
    if meta["kind"] in ("flow", "diffusion", "cvae"):
        return ChunkPolicy(weights, meta)
    if meta["kind"] == "mlp":
        return MlpPolicy(weights, meta)
    raise ValueError(f"{path}: kind {meta['kind']!r} has no numpy reference here yet")


if __name__ == "__main__":
    # python3 numpy_policy.py EXPORT '[[obs...], ...]' ['[noise...]']: a chunked policy's chunk
    # at that history, or an mlp policy's actions along it (one episode), as JSON.
    policy, history = load(sys.argv[1]), json.loads(sys.argv[2])
    if isinstance(policy, ChunkPolicy):
        print(json.dumps(policy.chunk(history, json.loads(sys.argv[3])).tolist()))
    else:
        print(json.dumps([np.asarray(policy.act(obs)).tolist() for obs in history]))
