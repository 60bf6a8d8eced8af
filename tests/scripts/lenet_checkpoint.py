"""A small LeNet trained with Adam, CosineAnnealingLR, gradient clipping and checkpoints.

Follows the common "LeNet-5 on MNIST" tutorial script (and the PyTorch "Saving and loading
a general checkpoint" recipe): ``nn.Conv2d``/``F.max_pool2d`` LeNet, ``optim.Adam``,
``CosineAnnealingLR``, ``torch.nn.utils.clip_grad_norm_``, then save and resume.

The recipe's general checkpoint ``torch.save({'epoch': e, 'model_state_dict': ...,
'optimizer_state_dict': ..., 'loss': ...}, PATH)`` ports unchanged: tinynet stores the
nested dict as safetensors plus a JSON skeleton (no pickle). A whole module
(``torch.save(model, PATH)``) is refused, as docs/porting.md says.

Original imports:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch.optim.lr_scheduler import CosineAnnealingLR
    from torch.utils.data import DataLoader, TensorDataset
"""

import os
import tempfile

import numpy as np

import tinynet as torch
import tinynet.nn as nn
import tinynet.nn.functional as F
import tinynet.optim as optim
from tinynet.optim.lr_scheduler import CosineAnnealingLR
from tinynet.utils.data import DataLoader, TensorDataset


class LeNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


torch.manual_seed(1)
rng = np.random.default_rng(1)
images = rng.integers(0, 256, size=(64, 1, 28, 28), dtype=np.uint8)
labels = rng.integers(0, 10, size=64)
x = torch.from_numpy(images).float().div(255)
x = (x - 0.1307) / 0.3081
y = torch.from_numpy(labels).long()
loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
model = LeNet().to(device)
optimizer = optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
scheduler = CosineAnnealingLR(optimizer, T_max=10, eta_min=1e-5)

losses = []
for epoch in range(5):
    model.train()
    total = 0.0
    for data, target in loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.cross_entropy(output, target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        total += loss.item()
    scheduler.step()
    losses.append(total / len(loader))
    print(f"epoch {epoch} loss {losses[-1]:.4f} lr {scheduler.get_last_lr()[0]:.6f}")

tmp = tempfile.mkdtemp()
PATH = os.path.join(tmp, "checkpoint.pt")
torch.save(model.state_dict(), os.path.join(tmp, "model.pt"))
torch.save(
    {
        "epoch": epoch,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "loss": losses[-1],
    },
    PATH,
)
try:
    torch.save(model, os.path.join(tmp, "whole_model.pt"))
except TypeError as e:
    print("whole module refused:", str(e).splitlines()[0])
else:
    raise SystemExit("saving a whole module should be refused (it needs pickle)")

model2 = LeNet()
optimizer2 = optim.Adam(model2.parameters(), lr=1e-3, weight_decay=1e-4)
checkpoint = torch.load(PATH, map_location=torch.device("cpu"), weights_only=True)
model2.load_state_dict(checkpoint["model_state_dict"])
optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
start_epoch = checkpoint["epoch"]
last_loss = checkpoint["loss"]
assert start_epoch == 4 and abs(last_loss - losses[-1]) < 1e-6
missing, unexpected = model2.load_state_dict(
    torch.load(os.path.join(tmp, "model.pt")), strict=False
)
assert missing == [] and unexpected == []
model.eval()
model2.eval()
with torch.no_grad():
    assert torch.allclose(model(x[:8].to(device)).cpu(), model2(x[:8]))
n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
print(model)
print("trainable parameters:", n_params)
assert n_params == 61706
print(f"RESULT first_loss={losses[0]:.6f} last_loss={losses[-1]:.6f}")
