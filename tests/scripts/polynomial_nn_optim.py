"""PyTorch tutorial "Learning PyTorch with Examples": nn, optim, custom nn.Module, dynamic net.

Follows pytorch/tutorials beginner_source/examples_nn/polynomial_nn.py (``x.unsqueeze(-1)
.pow(p)``, ``nn.Flatten(0, 1)``, ``MSELoss(reduction='sum')``, manual update of
``model.parameters()``), polynomial_optim.py (RMSprop), polynomial_module.py (a Module with
``torch.nn.Parameter(torch.randn(()))`` and ``string()``) and dynamic_net.py (random depth,
SGD with momentum). Shortened to a few hundred steps.

Original imports:
    import torch
    import math
    import random
"""

import math
import random

import tinynet as torch

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# --- polynomial_nn.py
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)
model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
loss_fn = torch.nn.MSELoss(reduction="sum")
learning_rate = 1e-6
nn_losses = []
for t in range(300):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    nn_losses.append(loss.item())
    if t % 100 == 99:
        print(t, loss.item())
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad
linear_layer = model[0]
print(
    f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x"
    f" + {linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3"
)
assert nn_losses[-1] < nn_losses[0]

# --- polynomial_optim.py
model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
loss_fn = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
opt_losses = []
for t in range(300):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    opt_losses.append(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
assert opt_losses[-1] < opt_losses[0]


# --- polynomial_module.py
class Polynomial3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        return self.a + self.b * x + self.c * x**2 + self.d * x**3

    def string(self):
        return (
            f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3"
        )


model = Polynomial3()
criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
mod_losses = []
for t in range(300):
    y_pred = model(x)
    loss = criterion(y_pred, y)
    mod_losses.append(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f"Result: {model.string()}")
assert mod_losses[-1] < mod_losses[0]


# --- dynamic_net.py
class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        y = self.a + self.b * x + self.c * x**2 + self.d * x**3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x**exp
        return y


random.seed(0)
model = DynamicNet()
criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
for t in range(100):
    y_pred = model(x)
    loss = criterion(y_pred, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(f"RESULT first_loss={nn_losses[0]:.6f} last_loss={nn_losses[-1]:.6f}")
