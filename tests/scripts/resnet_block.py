"""A homework ResNet: BasicBlock with ``out += self.shortcut(x)`` and ``ReLU(inplace=True)``.

Follows the CIFAR ResNet everybody copies (kuangliu/pytorch-cifar models/resnet.py,
BasicBlock) with torchvision's init loop (``kaiming_normal_(m.weight, mode='fan_out',
nonlinearity='relu')`` applied via ``model.apply``), ``torch.flatten(x, 1)``,
``AdaptiveAvgPool2d``, ``F.cross_entropy(..., label_smoothing=0.1)`` and SGD + MultiStepLR.

Original imports:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch.optim.lr_scheduler import MultiStepLR
"""

import tinynet as torch
import tinynet.nn as nn
import tinynet.nn.functional as F
import tinynet.optim as optim
from tinynet.optim.lr_scheduler import MultiStepLR


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super(BasicBlock, self).__init__()
        self.conv1 = nn.Conv2d(
            in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False
        )
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)

        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(
                    in_planes, self.expansion * planes, kernel_size=1, stride=stride, bias=False
                ),
                nn.BatchNorm2d(self.expansion * planes),
            )

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        out = F.relu(out)
        return out


class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=10):
        super(ResNet, self).__init__()
        self.in_planes = 8
        self.conv1 = nn.Conv2d(3, 8, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = self._make_layer(block, 8, num_blocks[0], stride=1)
        self.layer2 = self._make_layer(block, 16, num_blocks[1], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.linear = nn.Linear(16 * block.expansion, num_classes)

    def _make_layer(self, block, planes, num_blocks, stride):
        strides = [stride] + [1] * (num_blocks - 1)
        layers = []
        for stride in strides:
            layers.append(block(self.in_planes, planes, stride))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer1(out)
        out = self.layer2(out)
        out = self.avgpool(out)
        out = torch.flatten(out, 1)
        out = self.linear(out)
        return out


def init_weights(m):
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.constant_(m.weight, 1)
        nn.init.constant_(m.bias, 0)


torch.manual_seed(0)
model = ResNet(BasicBlock, [1, 1])
model.apply(init_weights)
inputs = torch.randn(16, 3, 16, 16)
targets = torch.randint(0, 10, (16,))
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
scheduler = MultiStepLR(optimizer, milestones=[3, 6], gamma=0.1)

losses = []
for step in range(8):
    model.train()
    optimizer.zero_grad()
    outputs = model(inputs)
    loss = F.cross_entropy(outputs, targets, label_smoothing=0.1)
    loss.backward()
    optimizer.step()
    scheduler.step()
    losses.append(loss.item())
    _, predicted = outputs.max(1)
    correct = predicted.eq(targets).sum().item()
    print(f"step {step} loss {loss.item():.4f} acc {correct / targets.size(0):.3f}")

print(f"RESULT first_loss={losses[0]:.6f} last_loss={losses[-1]:.6f}")
