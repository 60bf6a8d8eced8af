"""A forum-style training loop: TensorDataset, random_split, DataLoader, accuracy.

Follows the loop people post on discuss.pytorch.org ("my model does not learn"):
``TensorDataset`` + ``random_split`` + ``DataLoader``, a small ``nn.Module``, device
selection, ``StepLR``, and accuracy as ``(pred == y).float().mean()``.

Original imports:
    import torch
    import torch.nn as nn
    import torch.optim as optim
    from torch.utils.data import TensorDataset, DataLoader, random_split
    from torch.optim.lr_scheduler import StepLR
"""

import tinynet as torch
import tinynet.nn as nn
import tinynet.optim as optim
from tinynet.optim.lr_scheduler import StepLR
from tinynet.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# two blobs in 10-d
N = 256
X = torch.randn(N, 10)
y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
dataset = TensorDataset(X, y)
train_set, val_set = random_split(dataset, [0.75, 0.25])
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=64)


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(10, 32)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(32, 2)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


model = Net().to(device)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = StepLR(optimizer, step_size=2, gamma=0.5)

losses = []
for epoch in range(4):
    model.train()
    running_loss = 0.0
    for inputs, labels in train_loader:
        inputs, labels = inputs.to(device), labels.to(device)
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * inputs.size(0)
    epoch_loss = running_loss / len(train_set)
    losses.append(epoch_loss)
    scheduler.step()

    model.eval()
    accs = []
    with torch.no_grad():
        for xb, yb in val_loader:
            pred = model(xb.to(device)).argmax(dim=1)
            accs.append((pred == yb.to(device)).float().mean().item())
    acc = sum(accs) / len(accs)
    print(
        f"epoch {epoch} loss {epoch_loss:.4f} val_acc {acc:.3f} "
        f"lr {optimizer.param_groups[0]['lr']:.4f} last_lr {scheduler.get_last_lr()[0]:.4f}"
    )

assert len(train_set) == 192 and len(val_set) == 64
assert abs(optimizer.param_groups[0]["lr"] - 0.025) < 1e-12
print(f"RESULT first_loss={losses[0]:.6f} last_loss={losses[-1]:.6f} acc={acc:.3f}")
