"""jgan's image presets (java/src/main/java/dev/jgan/gan/Presets.java) as PyTorch networks, for
torch_parity.py. Written from the Java layer lists, layer for layer in the same order, so the
nn.Sequential indices are jgan's parameter names (g.0.weight, d.1.bias); activations and
reshapes hold an index too, as they do in jgan. Batch norm takes each preset's momentum (PyTorch's
convention) and eps exactly as the Java preset states them.
Keep in step with Presets.java by hand: the parity test is only worth something if these are an
independent reading of the presets, not generated from them."""
import torch.nn as nn

Z = 100   # every image preset's latent size


def mlp_gan(nc=1):
    """Keras-GAN vanilla GAN: G 100-256-512-1024-784nc (Dense, LeakyReLU 0.2, BN), tanh; D 784nc-512-256-1."""
    slope, momentum, eps = 0.2, 0.2, 1e-3

    def block(i, o):
        return [nn.Linear(i, o), nn.LeakyReLU(slope), nn.BatchNorm1d(o, eps=eps, momentum=momentum)]

    g = nn.Sequential(*block(Z, 256), *block(256, 512), *block(512, 1024),
                      nn.Linear(1024, nc * 784), nn.Tanh(), nn.Unflatten(1, (nc, 28, 28)))
    d = nn.Sequential(nn.Flatten(), nn.Linear(nc * 784, 512), nn.LeakyReLU(slope),
                      nn.Linear(512, 256), nn.LeakyReLU(slope), nn.Linear(256, 1))
    return g, d


def dcgan28(nc=1):
    """TensorFlow tutorial DCGAN: Dense to 256x7x7, ConvT 5x5 to 128 (stride 1), 64 and nc (stride 2,
    'same' = padding 2, output padding 1); BN then LeakyReLU 0.3; no biases in G. D: Conv 5x5 stride 2
    to 64 and 128, each LeakyReLU 0.3 and Dropout 0.3, Dense 6272 -> 1."""
    slope, momentum, eps, p = 0.3, 0.01, 1e-3, 0.3

    def bn(c):
        return nn.BatchNorm2d(c, eps=eps, momentum=momentum)

    g = nn.Sequential(nn.Linear(Z, 7 * 7 * 256, bias=False), nn.BatchNorm1d(7 * 7 * 256, eps=eps, momentum=momentum),
                      nn.LeakyReLU(slope),
                      nn.Unflatten(1, (256, 7, 7)),
                      nn.ConvTranspose2d(256, 128, 5, 1, 2, 0, bias=False), bn(128), nn.LeakyReLU(slope),
                      nn.ConvTranspose2d(128, 64, 5, 2, 2, 1, bias=False), bn(64), nn.LeakyReLU(slope),
                      nn.ConvTranspose2d(64, nc, 5, 2, 2, 1, bias=False), nn.Tanh())
    d = nn.Sequential(nn.Conv2d(nc, 64, 5, 2, 2, bias=True), nn.LeakyReLU(slope), nn.Dropout(p),
                      nn.Conv2d(64, 128, 5, 2, 2, bias=True), nn.LeakyReLU(slope), nn.Dropout(p),
                      nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    return g, d


def dcgan64(nc=1):
    """Radford et al. / pytorch/examples DCGAN, nc channels (pytorch/examples: 3): G ConvT 4x4 100 -> 512 (stride 1, pad 0),
    -> 256 -> 128 -> 64 (stride 2, pad 1), BN + ReLU, -> nc, tanh. D mirrors it with LeakyReLU 0.2,
    BN on all but the first layer, a last 4x4 conv to one logit. No biases; BN momentum 0.1, eps 1e-5."""
    slope, momentum, eps, w = 0.2, 0.1, 1e-5, 64

    def up(i, o, stride, pad):
        return [nn.ConvTranspose2d(i, o, 4, stride, pad, bias=False),
                nn.BatchNorm2d(o, eps=eps, momentum=momentum), nn.ReLU()]

    def down(i, o):
        return [nn.Conv2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o, eps=eps, momentum=momentum),
                nn.LeakyReLU(slope)]

    g = nn.Sequential(nn.Unflatten(1, (Z, 1, 1)),
                      *up(Z, w * 8, 1, 0), *up(w * 8, w * 4, 2, 1), *up(w * 4, w * 2, 2, 1), *up(w * 2, w, 2, 1),
                      nn.ConvTranspose2d(w, nc, 4, 2, 1, bias=False), nn.Tanh())
    d = nn.Sequential(nn.Conv2d(nc, w, 4, 2, 1, bias=False), nn.LeakyReLU(slope),
                      *down(w, w * 2), *down(w * 2, w * 4), *down(w * 4, w * 8),
                      nn.Conv2d(w * 8, 1, 4, 1, 0, bias=False), nn.Flatten())
    return g, d


PRESETS = {'mlp-gan': mlp_gan, 'dcgan-28': dcgan28, 'dcgan-64': dcgan64}
