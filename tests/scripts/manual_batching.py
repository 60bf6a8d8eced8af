"""Manual mini-batching with ``torch.randperm`` and an MLP on flattened images.

Follows the "write your own loop without a DataLoader" snippet common in courses and on
Stack Overflow: ``torch.set_num_threads``, ``perm = torch.randperm(N)``,
``x.view(x.size(0), -1)``, counting parameters with ``sum(p.numel() for p in
model.parameters() if p.requires_grad)``, ``print(model)``, ``torch.argmax``/``torch.sum``/
``torch.mean``, then the same data through ``torch.utils.data.DataLoader(...,
num_workers=2)``.

Original imports:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
"""

import tinynet as torch
import tinynet.nn as nn
import tinynet.nn.functional as F

torch.set_num_threads(1)
print("threads:", torch.get_num_threads())
torch.manual_seed(42)

N = 128
x = torch.rand(N, 1, 8, 8)
y = (x.mean(dim=(1, 2, 3)) > 0.5).long() + 2 * (
    x[:, :, :4].sum(dim=(1, 2, 3)) > x[:, :, 4:].sum(dim=(1, 2, 3))
).long()

model = nn.Sequential(
    nn.Linear(64, 32),
    nn.ReLU(),
    nn.Dropout(0.1),
    nn.Linear(32, 4),
)
print(model)
n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
print(f"{n_params} trainable parameters")
assert n_params == 64 * 32 + 32 + 32 * 4 + 4

optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
batch_size = 32
epoch_losses = []
for epoch in range(6):
    perm = torch.randperm(x.size(0))
    total = 0.0
    for i in range(0, x.size(0), batch_size):
        idx = perm[i : i + batch_size]
        xb, yb = x[idx], y[idx]
        logits = model(xb.view(xb.size(0), -1))
        loss = F.cross_entropy(logits, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * xb.shape[0]
    epoch_losses.append(total / N)

model.eval()
with torch.no_grad():
    logits = model(x.view(x.size(0), -1))
    preds = torch.argmax(logits, dim=1)
    acc = torch.sum(preds == y).item() / len(y)
    assert abs(torch.mean((preds == y).float()).item() - acc) < 1e-6

# the same data through a DataLoader with worker processes
dataset = torch.utils.data.TensorDataset(x, y)
loader = torch.utils.data.DataLoader(dataset, batch_size=32, shuffle=False, num_workers=2)
seen = 0
correct = 0
with torch.no_grad():
    for xb, yb in loader:
        out = model(xb.view(xb.size(0), -1))
        correct += (out.argmax(1) == yb).sum().item()
        seen += len(xb)
assert seen == len(dataset) == N
assert correct == torch.sum(preds == y).item()
print(f"RESULT first_loss={epoch_losses[0]:.6f} last_loss={epoch_losses[-1]:.6f} acc={acc:.3f}")
