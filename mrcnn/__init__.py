"""Keras 3 / TensorFlow 2 Mask R-CNN, faithful to the Matterport architecture, layer names and API."""
