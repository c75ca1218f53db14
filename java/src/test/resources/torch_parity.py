"""Checks jgan's forward and backward passes against PyTorch on the same weights and inputs.

Reads a safetensors file written by dev.jgan.gan.TorchParityTest: the model state under jgan's
(PyTorch's) names, the noise z, G(z) in training mode, the gradients of sum(G(z) * r) for G's
parameters, a real batch, D's logits on it (training mode; inference mode for dcgan-28, whose dropout masks
PyTorch cannot reproduce), D's input gradient
and parameter gradients of BCE(logits, 1). Builds the same networks in PyTorch (torch_presets.py,
beside this file), loads the state, recomputes all of it, and prints the largest relative
difference per tensor. Several cases, four arguments each, in one process (torch's import alone
takes seconds): each prints its block, "== PRESET PRECISION CHANNELS" then a line per tensor and
"result ok" or "result FAIL ..."; exit 1 if any case failed.

With PRECISION bf16-emulated, jgan's GEMMs and convolutions rounded their inputs to bfloat16 (forward
and both backward ones: x and w, dy and w, x and dy); the PyTorch layers here then do the same
(torch's float -> bfloat16 conversion rounds to nearest even, as jgan's), so both sides compute the
same numbers but for the order of float32 sums, and TOLERANCE_BF16 applies.
usage: python3 torch_parity.py PRESET FILE fp32|bf16-emulated CHANNELS [PRESET FILE PRECISION CHANNELS ...]"""
import json, struct, sys
import numpy as np
import torch
import torch.nn as nn

import torch_presets   # beside this script, so on sys.path

# float32 sums of up to ~10^4 products in different orders (oneDNN/OpenBLAS vs ATen): ~1e-6 seen
TOLERANCE = 1e-4
# bf16-emulated: where float32's summation order puts a value on the other side of a bf16 rounding
# boundary, that one operand moves by one bf16 step, at most 2^-7 of itself, and so does its share of
# an output: the largest relative change such a flip can make in an output dominated by one product.
TOLERANCE_BF16 = 2 ** -7


def bf16(x):
    return x.to(torch.bfloat16).to(torch.float32)


class LinearBf16(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        y = bf16(x) @ bf16(w).t()
        return y if b is None else y + b

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        return bf16(dy) @ bf16(w), bf16(dy).t() @ bf16(x), dy.sum(0) if ctx.has_bias else None


class Conv2dBf16(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, stride, padding):
        ctx.save_for_backward(x, w)
        ctx.has_bias, ctx.stride, ctx.padding = b is not None, stride, padding
        return torch.nn.functional.conv2d(bf16(x), bf16(w), b, stride, padding)

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        dx = torch.nn.grad.conv2d_input(x.shape, bf16(w), bf16(dy), ctx.stride, ctx.padding)
        dw = torch.nn.grad.conv2d_weight(bf16(x), w.shape, bf16(dy), ctx.stride, ctx.padding)
        return dx, dw, dy.sum((0, 2, 3)) if ctx.has_bias else None, None, None


class ConvTranspose2dBf16(torch.autograd.Function):
    """A transposed convolution is a convolution's input gradient: y = conv2d_input(y's shape, w, x)."""
    @staticmethod
    def forward(ctx, x, w, stride, padding, output_padding):
        ctx.save_for_backward(x, w)
        ctx.stride, ctx.padding = stride, padding
        return torch.nn.functional.conv_transpose2d(bf16(x), bf16(w), None, stride, padding, output_padding)

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        dx = torch.nn.functional.conv2d(bf16(dy), bf16(w), None, ctx.stride, ctx.padding)
        dw = torch.nn.grad.conv2d_weight(bf16(dy), w.shape, bf16(x), ctx.stride, ctx.padding)
        return dx, dw, None, None, None


def round_like_jgan(net):
    """Makes every Linear, Conv2d and ConvTranspose2d of net round its GEMM inputs to bf16, forward and backward."""
    for m in net.modules():
        if isinstance(m, nn.Linear):
            m.forward = lambda x, m=m: LinearBf16.apply(x, m.weight, m.bias)
        elif isinstance(m, nn.Conv2d):
            m.forward = lambda x, m=m: Conv2dBf16.apply(x, m.weight, m.bias, m.stride, m.padding)
        elif isinstance(m, nn.ConvTranspose2d):
            assert m.bias is None
            m.forward = lambda x, m=m: ConvTranspose2dBf16.apply(x, m.weight, m.stride, m.padding, m.output_padding)


def load(path):
    data = open(path, 'rb').read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    return {k: torch.from_numpy(np.frombuffer(data[base + v['data_offsets'][0]:base + v['data_offsets'][1]], dtype='<f4')
                                .reshape(v['shape']).copy())
            for k, v in header.items() if k != '__metadata__'}


def check(preset, path, precision, channels):
    """One case: prints its tensors' differences; returns why it failed, or None."""
    t = load(path)
    g, d = torch_presets.PRESETS[preset](channels)
    if precision == 'bf16-emulated':
        round_like_jgan(g)
        round_like_jgan(d)
    elif precision != 'fp32':
        return f'unknown precision {precision}'
    for prefix, net in (('g', g), ('d', d)):
        state = net.state_dict()
        ours = {k[len(prefix) + 1:] for k in t if k.startswith(prefix + '.')}
        theirs = {k for k in state if not k.endswith('num_batches_tracked')}
        if ours != theirs:
            return (f'{preset} {prefix}: tensor names differ; only in jgan: {sorted(ours - theirs)}, '
                    f'only in PyTorch: {sorted(theirs - ours)}')
        for k in state:
            if not k.endswith('num_batches_tracked'):
                state[k] = t[prefix + '.' + k].reshape(state[k].shape)
        net.load_state_dict(state)

    def compute(z, r, real):
        """G(z), the gradients of sum(G(z) * r), D's logits on real and the gradients of BCE(logits, 1), by name."""
        out = {}
        for net in (g, d):
            net.zero_grad(set_to_none=True)
        g.train()
        fake = g(z)
        out['G(z)'] = fake.detach()
        (fake * r.reshape(fake.shape)).sum().backward()
        for k, p in g.named_parameters():
            out['dG ' + k] = p.grad
        if preset == 'dcgan-28':
            d.eval()   # its dropout masks are jgan's own: compare without dropout
        else:
            d.train()  # batch statistics in dcgan-64's batch norm, as in training
        real = real.clone().requires_grad_(True)
        logits = d(real).reshape(-1, 1)
        out['D(x)'] = logits.detach()
        nn.BCEWithLogitsLoss()(logits, torch.ones_like(logits)).backward()
        out['dx of D'] = real.grad
        for k, p in d.named_parameters():
            out['dD ' + k] = p.grad
        return out

    def relative(a, b):
        return ((a.reshape(b.shape) - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()

    saved = [{k: v.clone() for k, v in net.state_dict().items()} for net in (g, d)]  # before training mode moves the running statistics
    theirs = compute(t['z'], t['r'], t['real'])
    ours = {'G(z)': t['fake'], 'D(x)': t['logits'], 'dx of D': t['dreal'],
            **{'dG ' + k: t['grad.g.' + k] for k, _ in g.named_parameters()},
            **{'dD ' + k: t['grad.d.' + k] for k, _ in d.named_parameters()}}
    tolerance = {k: TOLERANCE for k in theirs}
    if precision == 'bf16-emulated':
        # Conditioning, measured: PyTorch against itself with its inputs moved by float32's rounding
        # (relative 2^-23, three draws). Batch norm's training backward subtracts the batch means of dy
        # and dy x-hat; what remains can be small against the terms, so a bf16 step flipped in one term
        # can move dcgan-64's D gradients by tens of percent of their largest (0 in float32). A tensor's
        # tolerance is the larger of TOLERANCE_BF16 and 4 times the most it moved.
        torch.manual_seed(0)
        for _ in range(3):
            g.load_state_dict(saved[0])
            d.load_state_dict(saved[1])
            nudged = [x * (1 + 2 ** -23 * torch.randn_like(x)) for x in (t['z'], t['r'], t['real'])]
            moved = compute(*nudged)
            for k in theirs:
                tolerance[k] = max(tolerance[k], TOLERANCE_BF16, 4 * relative(moved[k], theirs[k]))
    worst = []
    for k in theirs:
        rel = relative(ours[k], theirs[k])
        worst.append((rel / tolerance[k], rel, tolerance[k], k))
        print(f'{k}\t{rel:.2e}\t(tolerance {tolerance[k]:.2e})')
    share, rel, tol, what = max(worst)
    print(f'worst\t{what}\t{rel:.2e}\t(tolerance {tol:.2e})')
    return f'{what} differs by {rel:.2e} relative, above {tol:.2e}' if share > 1 else None


failed = 0
args = sys.argv[1:]
if not args or len(args) % 4:
    sys.exit(__doc__)
for i in range(0, len(args), 4):
    preset, path, precision, channels = args[i], args[i + 1], args[i + 2], int(args[i + 3])
    print(f'== {preset} {precision} {channels}')
    why = check(preset, path, precision, channels)
    print('result ok' if why is None else f'result FAIL {why}', flush=True)
    failed += why is not None
sys.exit(1 if failed else 0)
