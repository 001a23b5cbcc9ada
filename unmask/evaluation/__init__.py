"""The experiment grid of a preset: every model x class set x attack x eps, scored for every defense."""
from unmask.evaluation.grid import Grid, MissingInputError, check_inputs, evaluation_inputs, model_checkpoint, variant_paths

__all__ = ["Grid", "MissingInputError", "check_inputs", "evaluation_inputs", "model_checkpoint", "variant_paths"]
