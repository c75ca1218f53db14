"""Checks jgan's forward and backward passes against PyTorch on the same weights and inputs.

Reads a safetensors file written by dev.jgan.gan.TorchParityTest: the model state under jgan's
(PyTorch's) names, the noise z, G(z) in training mode, the gradients of sum(G(z) * r) for G's
parameters, a real batch, D's logits on it (training mode; inference mode for dcgan-28, whose dropout masks
PyTorch cannot reproduce), D's input gradient
and parameter gradients of BCE(logits, 1). Builds the same networks in PyTorch (torch_presets.py,
beside this file), loads the state, recomputes all of it, and prints the largest relative
difference per tensor. Exit 1 if any exceeds TOLERANCE.
usage: python3 torch_parity.py PRESET FILE"""
import json, struct, sys
import numpy as np
import torch
import torch.nn as nn

import torch_presets   # beside this script, so on sys.path

# float32 sums of up to ~10^4 products in different orders (oneDNN/OpenBLAS vs ATen): ~1e-6 seen
TOLERANCE = 1e-4


def load(path):
    data = open(path, 'rb').read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    return {k: torch.from_numpy(np.frombuffer(data[base + v['data_offsets'][0]:base + v['data_offsets'][1]], dtype='<f4')
                                .reshape(v['shape']).copy())
            for k, v in header.items() if k != '__metadata__'}


preset, t = sys.argv[1], load(sys.argv[2])
g, d = torch_presets.PRESETS[preset]()
for prefix, net in (('g', g), ('d', d)):
    state = net.state_dict()
    ours = {k[len(prefix) + 1:] for k in t if k.startswith(prefix + '.')}
    theirs = {k for k in state if not k.endswith('num_batches_tracked')}
    if ours != theirs:
        sys.exit(f'{preset} {prefix}: tensor names differ; only in jgan: {sorted(ours - theirs)}, '
                 f'only in PyTorch: {sorted(theirs - ours)}')
    for k in state:
        if not k.endswith('num_batches_tracked'):
            state[k] = t[prefix + '.' + k].reshape(state[k].shape)
    net.load_state_dict(state)

worst = []


def check(what, ours, theirs):
    ours = ours.reshape(theirs.shape)
    rel = ((ours - theirs).abs().max() / theirs.abs().max().clamp_min(1e-30)).item()
    worst.append((rel, what))
    print(f'{what}\t{rel:.2e}')


g.train()
fake = g(t['z'])
check('G(z)', t['fake'], fake)
(fake * t['r'].reshape(fake.shape)).sum().backward()
for k, p in g.named_parameters():
    check('dG ' + k, t['grad.g.' + k], p.grad)
if preset == 'dcgan-28':
    d.eval()   # its dropout masks are jgan's own: compare without dropout
else:
    d.train()  # batch statistics in dcgan-64's batch norm, as in training
real = t['real'].reshape(t['real'].shape).clone().requires_grad_(True)
logits = d(real).reshape(-1, 1)
check('D(x)', t['logits'], logits.detach())
nn.BCEWithLogitsLoss()(logits, torch.ones_like(logits)).backward()
check('dx of D', t['dreal'], real.grad)
for k, p in d.named_parameters():
    check('dD ' + k, t['grad.d.' + k], p.grad)
rel, what = max(worst)
print(f'worst\t{what}\t{rel:.2e}')
sys.exit(1 if rel > TOLERANCE else 0)
