"""A custom ``Dataset`` class, class-balanced sampling and ReduceLROnPlateau.

Follows PyTorch's "Datasets & DataLoaders" tutorial (a ``Dataset`` subclass with
``__len__``/``__getitem__`` returning ``torch.tensor``s) and the forum recipe for imbalanced
classes (``WeightedRandomSampler`` with weights ``1. / class_count``), a ``collate_fn``,
``Subset``, Adadelta + ``ReduceLROnPlateau(mode='min', factor=0.5, patience=1)``,
``torch.Generator().manual_seed(...)`` for a reproducible split, and
``torch.no_grad()``/``model.eval()`` validation.

Original imports:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch.utils.data import Dataset, DataLoader, Subset, WeightedRandomSampler, random_split
    from torch.optim.lr_scheduler import ReduceLROnPlateau
"""

import numpy as np

import tinynet as torch
import tinynet.nn as nn
import tinynet.nn.functional as F
import tinynet.optim as optim
from tinynet.optim.lr_scheduler import ReduceLROnPlateau
from tinynet.utils.data import DataLoader, Dataset, Subset, WeightedRandomSampler, random_split


class ToyImages(Dataset):
    def __init__(self, n, seed=0):
        rng = np.random.default_rng(seed)
        self.labels = (rng.random(n) < 0.2).astype(np.int64)  # imbalanced: ~20% ones
        imgs = rng.integers(0, 128, size=(n, 1, 12, 12), dtype=np.uint8)
        imgs[self.labels == 1, :, 4:8, 4:8] += 120
        self.images = imgs

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        image = torch.from_numpy(self.images[idx]).float() / 255.0
        label = torch.tensor(self.labels[idx], dtype=torch.long)
        return image, label


def collate(batch):
    images, labels = zip(*batch)
    return torch.stack(images), torch.stack(labels)


dataset = ToyImages(160)
train_set, val_set = random_split(dataset, [120, 40], generator=torch.Generator().manual_seed(42))
train_labels = [int(train_set[i][1]) for i in range(len(train_set))]
class_count = np.bincount(train_labels)
weights = 1.0 / torch.tensor(class_count, dtype=torch.float)
sample_weights = weights[torch.tensor(train_labels)]
sampler = WeightedRandomSampler(sample_weights, num_samples=len(sample_weights), replacement=True)
train_loader = DataLoader(train_set, batch_size=20, sampler=sampler, collate_fn=collate)
val_loader = DataLoader(Subset(val_set, list(range(32))), batch_size=16)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 6 * 6, 2)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(x.flatten(1))


torch.manual_seed(0)
model = SmallCNN()
optimizer = optim.Adadelta(model.parameters(), lr=1.0)
scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=1)

losses = []
for epoch in range(6):
    model.train()
    total, count = 0.0, 0
    for data, target in train_loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data), target)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(target)
        count += len(target)
    losses.append(total / count)
    model.eval()
    val_loss = 0.0
    with torch.no_grad():
        for data, target in val_loader:
            val_loss += F.cross_entropy(model(data), target, reduction="sum").item()
    scheduler.step(val_loss)
    print(
        f"epoch {epoch} train {losses[-1]:.4f} val {val_loss:.4f} lr {optimizer.param_groups[0]['lr']}"
    )

print(f"RESULT first_loss={losses[0]:.6f} last_loss={losses[-1]:.6f}")
