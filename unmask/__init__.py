"""UnMask: adversarial detection and defense by part-based feature alignment (TensorFlow 2 / Keras 3)."""
from unmask.core import jaccard
from unmask.protect import UnMask, Verdict

__all__ = ["UnMask", "Verdict", "jaccard"]
__version__ = "0.1.0"
