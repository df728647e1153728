"""The measuring stick: torch oracles, the case grid, the comparison engine and the harness.

Unlike ``manual_grads``, this package needs torch.
"""
