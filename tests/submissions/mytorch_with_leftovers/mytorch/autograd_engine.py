"""HW1P1 bonus leftover: a tiny autograd engine (operation tape + gradient buffer)."""
import numpy as np


class Operation:
    def __init__(self, inputs, output, gradients_to_update, backward_operation):
        self.inputs = inputs
        self.output = output
        self.gradients_to_update = gradients_to_update
        self.backward_operation = backward_operation


class GradientBuffer:
    """Gradients of intermediate (non-parameter) arrays, keyed by the array object."""

    def __init__(self):
        self.memory = {}

    def add_spot(self, array):
        if id(array) not in self.memory:
            self.memory[id(array)] = np.zeros(np.shape(array))

    def update_param(self, array, gradient):
        self.memory[id(array)] = self.memory.get(id(array), 0) + gradient

    def get_param(self, array):
        return self.memory[id(array)]

    def clear(self):
        self.memory.clear()


class Autograd:
    def __init__(self):
        self.gradient_buffer = GradientBuffer()
        self.operation_list = []

    def add_operation(self, inputs, output, gradients_to_update, backward_operation):
        if len(inputs) != len(gradients_to_update):
            raise Exception("Number of inputs must match the number of gradients to update!")
        for array in inputs:
            self.gradient_buffer.add_spot(array)
        self.operation_list.append(Operation(inputs, output, gradients_to_update, backward_operation))

    def backward(self, divergence):
        """Walk the tape backwards; returns nothing, fills gradients_to_update and the buffer."""
        for position, op in enumerate(reversed(self.operation_list)):
            grad_of_output = divergence if position == 0 else self.gradient_buffer.get_param(op.output)
            grads = op.backward_operation(grad_of_output, *op.inputs)
            for array, grad, target in zip(op.inputs, grads, op.gradients_to_update):
                if grad is None:
                    continue
                if target is not None:
                    target += grad
                else:
                    self.gradient_buffer.update_param(array, grad)

    def zero_grad(self):
        self.gradient_buffer.clear()
        self.operation_list = []
