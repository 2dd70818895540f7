"""The grid world: layouts, its exact tabular model, and the Gymnasium env."""
