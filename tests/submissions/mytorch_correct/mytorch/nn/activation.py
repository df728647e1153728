import manual_grads as mg


class _Activation:
    name = "relu"

    def forward(self, Z):
        A, self.cache = getattr(mg, f"{self.name}_forward")(Z)
        return A

    def backward(self, dLdA):
        return getattr(mg, f"{self.name}_backward")(dLdA, self.cache)["x"]


class ReLU(_Activation):
    pass


class Sigmoid(_Activation):
    name = "sigmoid"


class Tanh(_Activation):
    name = "tanh"
