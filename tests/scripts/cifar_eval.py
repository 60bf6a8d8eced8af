"""The CIFAR-10 tutorial's evaluation code and the MNIST example's test loop.

Follows pytorch/tutorials beginner_source/blitz/cifar10_tutorial.py (``Net`` with
``torch.flatten(x, 1)``, ``_, predicted = torch.max(outputs.data, 1)``, per-class accuracy
with ``classes[label]``) and pytorch/examples mnist/main.py ``test()`` (``model.eval()``,
``output.argmax(dim=1, keepdim=True)``, ``pred.eq(target.view_as(pred)).sum().item()``,
``F.nll_loss(..., reduction='sum')``), on NumPy uint8 images
``torch.from_numpy(x).float().div(255)``; ``F.softmax``, ``torch.cat``, ``torch.stack``,
``.numpy()``, ``.tolist()`` for collecting predictions; plus the usual He init through
``net.apply(init_weights)`` and ``CrossEntropyLoss(label_smoothing=0.1)``.

Original imports:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
"""

import numpy as np

import tinynet as torch
import tinynet.nn as nn
import tinynet.nn.functional as F
import tinynet.optim as optim

classes = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


torch.manual_seed(0)
rng = np.random.default_rng(0)
raw = rng.integers(0, 256, size=(40, 32, 32, 3), dtype=np.uint8)  # HWC, as CIFAR stores it
images = torch.from_numpy(raw).permute(0, 3, 1, 2).float().div(255)
images = (images - 0.5) / 0.5
labels = torch.from_numpy(rng.integers(0, 10, size=40)).long()
batches = [(images[i : i + 8], labels[i : i + 8]) for i in range(0, 40, 8)]


def init_weights(m):  # the usual addition: He init via model.apply
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if m.bias is not None:
            nn.init.constant_(m.bias, 0)
    elif isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)


net = Net()
net.apply(init_weights)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
losses = []
for epoch in range(3):
    running_loss = 0.0
    for i, data in enumerate(batches, 0):
        inputs, labels_b = data
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels_b)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    losses.append(running_loss / len(batches))
    print(f"[{epoch + 1}] loss: {losses[-1]:.3f}")
print("Finished Training")

# whole-set accuracy, the tutorial's way
correct = 0
total = 0
with torch.no_grad():
    for data in batches:
        images_b, labels_b = data
        outputs = net(images_b)
        _, predicted = torch.max(outputs.data, 1)
        total += labels_b.size(0)
        correct += (predicted == labels_b).sum().item()
print(f"Accuracy of the network on the {total} test images: {100 * correct // total} %")

# per-class accuracy, the tutorial's way
correct_pred = {classname: 0 for classname in classes}
total_pred = {classname: 0 for classname in classes}
with torch.no_grad():
    for data in batches:
        images_b, labels_b = data
        outputs = net(images_b)
        _, predictions = torch.max(outputs, 1)
        for label, prediction in zip(labels_b, predictions):
            if label == prediction:
                correct_pred[classes[label]] += 1
            total_pred[classes[label]] += 1
assert sum(correct_pred.values()) == correct and sum(total_pred.values()) == total

# the MNIST example's test(): log-probabilities, argmax keepdim, eq/view_as
net.eval()
test_loss = 0
correct2 = 0
all_probs, all_preds = [], []
with torch.no_grad():
    for data, target in batches:
        output = F.log_softmax(net(data), dim=1)
        test_loss += F.nll_loss(output, target, reduction="sum").item()
        pred = output.argmax(dim=1, keepdim=True)
        correct2 += pred.eq(target.view_as(pred)).sum().item()
        all_probs.append(F.softmax(net(data), dim=1))
        all_preds.append(pred.squeeze(1))
test_loss /= total
probs = torch.cat(all_probs)
preds = torch.stack(all_preds).view(-1)
assert correct2 == correct
assert probs.shape == (40, 10) and torch.allclose(probs.sum(dim=1), torch.ones(40), atol=1e-5)
assert preds.tolist() == probs.argmax(1).tolist() == torch.argmax(probs, dim=1).numpy().tolist()
acc = torch.mean((preds == labels).float()).item()
assert abs(acc - correct / total) < 1e-6
assert torch.sum(preds == labels).item() == correct
print(f"Test set: Average loss: {test_loss:.4f}, Accuracy: {correct2}/{total}")
print(f"RESULT first_loss={losses[0]:.6f} last_loss={losses[-1]:.6f} acc={acc:.3f}")
