"""PyTorch tutorial "Learning PyTorch with Examples": PyTorch: Defining New autograd Functions.

Follows pytorch/tutorials beginner_source/examples_autograd/polynomial_custom_function.py
(LegendrePolynomial3 with ctx.save_for_backward, a manual SGD step under no_grad with
``a.grad = None``), plus the older tutorial's MyReLU (two_layer_net_custom_function.py)
using ``ctx.needs_input_grad``, ``.clamp(min=0)``, ``.mm``, ``.t()`` and ``grad.zero_()``.
Shortened to a few hundred steps.

Original imports:
    import torch
    import math
"""

import math

import tinynet as torch


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input**3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input**2 - 1)


dtype = torch.float
device = torch.device("cpu")

x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)

learning_rate = 5e-6
losses = []
for t in range(300):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    losses.append(loss.item())
    if t % 100 == 99:
        print(t, loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f"Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)")
first, last = losses[0], losses[-1]


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad_input = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
        return grad_input


N, D_in, H, D_out = 64, 100, 20, 10
xr = torch.randn(N, D_in, device=device, dtype=dtype)
yr = torch.randn(N, D_out, device=device, dtype=dtype)
w1 = torch.randn(D_in, H, device=device, dtype=dtype, requires_grad=True)
w2 = torch.randn(H, D_out, device=device, dtype=dtype, requires_grad=True)
relu_losses = []
for t in range(50):
    relu = MyReLU.apply
    y_pred = relu(xr.mm(w1)).mm(w2)
    loss = (y_pred - yr).pow(2).sum()
    relu_losses.append(loss.item())
    loss.backward()
    with torch.no_grad():
        w1 -= 1e-6 * w1.grad
        w2 -= 1e-6 * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()

assert relu_losses[-1] < relu_losses[0]
print(f"RESULT first_loss={first:.6f} last_loss={last:.6f}")
