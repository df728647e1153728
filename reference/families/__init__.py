"""One module per layer family: its cases (grid) and its torch mirrors, bound into op specs."""
