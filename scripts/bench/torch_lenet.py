"""The CIFAR-10 LeNet encoder of Deep SVDD and MOCCA in PyTorch, shared by the PyTorch
twins and checks: conv 3->32->64->128 (5x5, pad 2, no bias), each followed by
BatchNorm (eps 1e-4, affine off), LeakyReLU(0.01) and 2x2 max pooling, then fc 2048->128.

Its parameter and buffer names are those of swift-mocca's safetensors, so a pretrained
autoencoder loads into it (the decoder's entries are ignored).
"""
import torch.nn as nn
import torch.nn.functional as F

# The taps, in the order `Encoder.forward` returns them: conv outputs globally
# average-pooled before BatchNorm, then the fc code.
TAPS = ("conv1", "conv2", "conv3", "code")


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool2d(2, 2)
        self.conv1 = nn.Conv2d(3, 32, 5, bias=False, padding=2)
        self.bn2d1 = nn.BatchNorm2d(32, eps=1e-04, affine=False)
        self.conv2 = nn.Conv2d(32, 64, 5, bias=False, padding=2)
        self.bn2d2 = nn.BatchNorm2d(64, eps=1e-04, affine=False)
        self.conv3 = nn.Conv2d(64, 128, 5, bias=False, padding=2)
        self.bn2d3 = nn.BatchNorm2d(128, eps=1e-04, affine=False)
        self.fc1 = nn.Linear(128 * 4 * 4, 128, bias=False)

    def forward(self, x):
        """The tap vectors, a list in `TAPS` order."""
        taps = []
        for conv, bn in ((self.conv1, self.bn2d1), (self.conv2, self.bn2d2), (self.conv3, self.bn2d3)):
            c = conv(x)
            taps.append(c.mean(dim=(2, 3)))
            x = self.pool(F.leaky_relu(bn(c)))
        taps.append(self.fc1(x.reshape(x.size(0), -1)))
        return taps
