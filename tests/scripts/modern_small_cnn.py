"""A "modern" small CNN: GroupNorm, SiLU, Dropout2d, upsampling, clip_grad_value_.

Follows the kind of small encoder-decoder / classifier people write after reading blog
posts on normalisation layers: ``nn.GroupNorm``, ``nn.SiLU``, ``nn.GELU``, ``nn.Dropout2d``,
``nn.LayerNorm``, ``F.interpolate(scale_factor=2, mode='nearest')``, ``nn.Unflatten``,
``nn.ModuleDict``, ``F.one_hot``, ``nn.SmoothL1Loss``, ``torch.nn.utils.clip_grad_value_``
and ``parameters_to_vector``, trained with AdamW + LinearLR/SequentialLR warm-up.

Original imports:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.optim.lr_scheduler import LinearLR, SequentialLR, ExponentialLR
"""

import tinynet as torch
import tinynet.nn as nn
import tinynet.nn.functional as F
from tinynet.optim.lr_scheduler import ExponentialLR, LinearLR, SequentialLR


class Net(nn.Module):
    def __init__(self, num_classes=3):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1, padding_mode="reflect"),
            nn.GroupNorm(2, 8),
            nn.SiLU(),
            nn.Dropout2d(0.1),
        )
        self.heads = nn.ModuleDict(
            {
                "cls": nn.Sequential(
                    nn.AdaptiveMaxPool2d(1),
                    nn.Flatten(),
                    nn.LayerNorm(8),
                    nn.GELU(),
                    nn.Linear(8, num_classes),
                ),
                "rec": nn.Sequential(
                    nn.Flatten(), nn.Linear(8 * 4 * 4, 16), nn.Unflatten(1, (1, 4, 4))
                ),
            }
        )

    def forward(self, x):
        h = self.stem(x)
        logits = self.heads["cls"](h)
        small = F.avg_pool2d(h, 2)
        rec = F.interpolate(self.heads["rec"](small), scale_factor=2, mode="nearest")
        return logits, rec


torch.manual_seed(0)
x = torch.randn(24, 1, 8, 8)
y = torch.randint(0, 3, (24,))
model = Net()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
warmup = LinearLR(optimizer, start_factor=0.1, total_iters=3)
decay = ExponentialLR(optimizer, gamma=0.9)
scheduler = SequentialLR(optimizer, schedulers=[warmup, decay], milestones=[3])
rec_loss = nn.SmoothL1Loss()

losses = []
for step in range(12):
    model.train()
    logits, rec = model(x)
    target = F.one_hot(y, num_classes=3).float()
    loss = (
        F.cross_entropy(logits, y) + rec_loss(rec, x) + 0.0 * F.mse_loss(logits.softmax(-1), target)
    )
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=1.0)
    optimizer.step()
    scheduler.step()
    losses.append(loss.item())

vec = torch.nn.utils.parameters_to_vector(model.parameters())
assert vec.numel() == sum(p.numel() for p in model.parameters())
print(f"RESULT first_loss={losses[0]:.6f} last_loss={losses[-1]:.6f}")
