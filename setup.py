"""Installs the three UnMask-TF packages (mrcnn, unmask, dataset_tools) and the `unmask` command."""
from pathlib import Path

from setuptools import find_packages, setup

REQUIREMENTS = [
    line.strip()
    for line in Path(__file__).with_name("requirements.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]

setup(
    name="unmask-tf",
    version="0.1.0",
    description="UnMask adversarial detection and defense, TensorFlow 2 / Keras 3 reference implementation",
    python_requires=">=3.10",
    packages=find_packages(include=["mrcnn*", "unmask*", "dataset_tools*"]),
    package_data={"unmask": ["data/*.json"], "dataset_tools": ["data/*.json"]},
    install_requires=REQUIREMENTS,
    entry_points={"console_scripts": ["unmask=unmask.cli:main"]},
)
